"""deploy.yaml `target` sections of the built-in kinds, one module each (pure pydantic; nothing heavy).

A plugin kind's section is checked by the plugin's own ``config_model`` where the library loads it."""
