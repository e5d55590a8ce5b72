"""Softphones: one-time QR provisioning links and the e-mail that carries them.

A softphone is a device with vendor `softphone` holding one `softphones` license. The
administrator issues a one-time link (shown as a QR code, or e-mailed to the user named
in the extension's identity); the app redeems it once and receives its account document,
built from the latest telephony commit for the slot the latest APS commit gives it.
"""
