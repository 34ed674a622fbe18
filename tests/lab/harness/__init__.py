"""Real SIP peers for lab tests: a carrier (Asterisk in the `carrier` machine) and host phones (baresip)."""
