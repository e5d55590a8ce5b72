"""The small page a browser or a link preview gets: what to do, and no secret.

It names neither the token nor the account; showing it never uses the link up.
"""

from __future__ import annotations

import html
from datetime import datetime

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # The page's address is the link itself: never pass it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


def landing_page(expires_at: datetime) -> str:
    expiry = html.escape(expires_at.strftime("%Y-%m-%d %H:%M UTC"))
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex, nofollow">
<title>Softphone provisioning link</title>
<style>body {{ font-family: sans-serif; max-width: 36em; margin: 2em auto; }}</style>
</head>
<body>
<h1>Set up your softphone</h1>
<p>This is a one-time provisioning link for a softphone. Opening it in a browser does
not set anything up and does not use the link up.</p>
<ol>
<li>Open your softphone app (for example Linphone) on the device you want to use.</li>
<li>Choose <em>Scan QR code</em> and scan the code you received, or choose
<em>Fetch remote configuration</em> and paste the address of this page.</li>
<li>The app downloads your account once and registers.</li>
</ol>
<p>The link expires at {expiry}. If it has expired or was already used, ask your
administrator for a new one.</p>
</body>
</html>
"""
