"""The SIP channel: pyVoIP 1.6.8 answers calls registered at a registrar (Kamailio).

`rtp` frames and decodes RTP (pure), `media` moves one call's RTP over its socket, `dialing`
builds the SIP requests pyVoIP lacks (pure), `leg` is one call leg over pyVoIP's VoIPCall,
`phone` holds the small patches over pyVoIP's SIP handling, `line` drives one call through
the CallRunner, `node` is the process behind `ivr sip`. Dialog logic lives in the engine only.
"""

import warnings

with warnings.catch_warnings():  # pyVoIP imports audioop, deprecated in 3.11 (audioop-lts: 3.13)
    warnings.simplefilter("ignore", DeprecationWarning)
    import pyVoIP.VoIP  # noqa: F401  # first: pyVoIP.SIP cannot be imported before it
