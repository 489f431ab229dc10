"""The rasa-sdk action server of 巨好办: thin actions that call ``workflow`` services (no SQL here).

``python -m rasa_sdk`` configures its logging (coloredlogs on the root logger) before it imports this package, so
the phone masking is installed on those handlers here: residents' numbers never reach the action server's log.
"""

from workflow.log_masking import install_phone_masking

install_phone_masking()
