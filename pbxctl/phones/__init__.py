"""Phone and gateway provisioning files, rendered from phone_templates/."""
