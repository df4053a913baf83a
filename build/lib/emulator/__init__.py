"""dataverse-emulator: a local Dataverse Web API for Omnichannel conversations (msdyn_ocliveworkitem)."""
__version__ = "0.1.0"
