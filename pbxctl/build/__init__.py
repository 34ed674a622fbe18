"""Software pbxctl builds on the control node for servers whose distribution lacks it (Asterisk on Debian 12/13)."""
