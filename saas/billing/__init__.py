"""Plans, Stripe billing and the state that plan limits are checked against.

`plans` says what each plan allows, `state` what a tenant is on right now, `gateway` talks
to Stripe, `webhooks` applies Stripe's events. Owner-facing actions are in
`saas.services.billing`; the one limit check everybody calls is `saas.services.limits`.
"""
