"""Many sites as one fleet: one build (one inventory, each site a group with its own variables), one Ansible run,
a summary per site. A single site is still compiled and run exactly as before; this is only for several."""
