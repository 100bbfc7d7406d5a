"""The API's domains, one folder each (controllers, services, schemas)."""
