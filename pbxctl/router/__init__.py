"""The RouterOS router: the entries pbxctl owns, as API data (for the role) or as a .rsc script."""
