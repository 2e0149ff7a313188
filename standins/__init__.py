"""Stand-ins for third parties: test infrastructure, not part of Feira.

A stand-in is a small server that speaks a third party's real protocol (the same requests, answers,
errors and webhooks) so that Feira's own code, and the third party's official client library, run
against it unchanged. The stack starts one only when the setting `FEIRA_STANDINS` lists it
(comma-separated, e.g. `FEIRA_STANDINS=stripe`; production leaves it empty and points Feira at the
real provider). A stand-in listens on loopback and is never routed by the gateway: its test-only
routes (`/_standin/...`) must not be reachable from outside.

- `standins.stripe`: Stripe's PaymentIntents, refunds and signed webhooks (card and PIX).
- `standins.shops`: fixture web shops (JSON-LD, microdata, no structured data, robots.txt, bad
  pages) for the collector, with a log of every request served.
"""
