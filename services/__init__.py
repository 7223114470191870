"""dealtrail's two services: accounts and deals."""
