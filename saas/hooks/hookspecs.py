"""The plugin contract: every hook a plugin may implement.

A plugin is a module or object registered in the ``saas.plugins`` entry-point group.
It implements any of the hooks below with ``@hookimpl``; an argument it does not need
may be left out of its signature. Hooks are grouped by when they fire.

Plugins never receive ORM objects or a database session: they get plain data
(:class:`saas.hooks.types.PluginEvent`, :class:`saas.hooks.types.TenantInfo`) and their
tenant's settings as a read-only mapping, and they return plain data that the platform
records. That keeps a slow or broken plugin away from the transaction that caused the
event, and lets a call be timed out and retried.

``config`` is always the settings of *this* plugin for *this* tenant: the values the
tenant admin saved, else the defaults of the plugin's schema, secrets decrypted.
"""

from __future__ import annotations

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("saas")
hookimpl = HookimplMarker("saas")


# -- Declaration: asked when the admin pages or the platform need to know the plugin ----


@hookspec
def plugin_settings_schema():
    """Declare the per-tenant settings of this plugin.

    Fires when settings are shown, validated, saved or read for a delivery. Only the
    implementation of the plugin being configured is called.

    Return a marshmallow ``Schema`` class or instance. Give every optional field a
    ``load_default`` (the global default used until a tenant saves its own value). Mark
    credentials with ``metadata={"secret": True}``: they are encrypted at rest and shown
    back masked. ``metadata={"label": ..., "help": ...}`` labels the generated form field.
    Return None when the plugin has no settings.
    """


@hookspec
def register_channels():
    """Offer channels that send one message to one recipient (email, SMS, forum, ...).

    Fires when a message is sent through :func:`saas.services.plugins.send_via_channel`
    and when the admin page lists what a plugin provides.

    Return a list of channel objects. A channel has a ``name`` (``"email"``, ``"sms"``)
    and a method ``send(message, config)`` where ``message`` is a
    :class:`saas.hooks.types.OutboundMessage`; it returns a
    :class:`saas.hooks.types.SendResult` (or a dict with ``provider_id``) naming the
    provider's id for the message, and raises on failure (the platform retries).
    """


@hookspec
def register_routes():
    """Offer HTTP endpoints of the plugin (inbound webhooks, provider callbacks).

    Fires on every request under ``/t/<slug>/ext/<plugin name>/``; the platform answers 404
    unless the plugin is enabled for that tenant.

    Return a list of :class:`saas.hooks.types.PluginRoute` (``rule``, ``view``,
    ``methods``). ``view(request, tenant, config, **rule_values)`` returns anything Flask
    can turn into a response, or an :class:`saas.hooks.types.InboundMessage`, which is
    handed to :func:`inbound_message` and answered with 202. The view runs under the
    plugin time limit and is not logged in as staff: it must authenticate its caller
    itself (a shared secret or a signature in ``config``).
    """


# -- Events: called by delivery jobs, once per event per enabled plugin --------------


@hookspec
def on_event(event, tenant, config):
    """React to any domain event of a tenant that enabled this plugin.

    Fires from a delivery job after the change that caused the event has committed
    (customer.created, order.placed, ticket.closed, survey.answered, customer.tier_changed,
    points.earned, ...). Failures are retried with exponential backoff; the change itself
    is never affected. The same event may be delivered more than once: use ``event.id``
    as an idempotency key.

    :param event: the :class:`saas.hooks.types.PluginEvent` (``id``, ``name``,
        ``entity_type``, ``entity_id``, ``payload``, ``occurred_at``).
    :param tenant: the :class:`saas.hooks.types.TenantInfo` the event belongs to.
    :param config: this plugin's settings for that tenant.

    Return None or a JSON-serialisable dict; it is stored on the delivery and shown to
    the admin. Return ``{"skipped": "reason"}`` for events the plugin ignores.
    """


@hookspec
def on_customer_event(event, customer, tenant, config):
    """React to an event about one customer (``customer.*``).

    Fires from the same delivery as :func:`on_event`, before it, for events whose
    ``entity_type`` is ``"customer"``.

    :param event: the :class:`saas.hooks.types.PluginEvent`.
    :param customer: the event payload as a dict (``id``, ``name``, ``email``, ...).
    :param tenant: the :class:`saas.hooks.types.TenantInfo`.
    :param config: this plugin's settings for that tenant.

    Return value as for :func:`on_event`.
    """


@hookspec
def sync_customer(event, customer, tenant, config):
    """Push one customer to an external system (an external CRM).

    Fires from the delivery of ``customer.created`` and ``customer.updated`` events.

    :param event: the :class:`saas.hooks.types.PluginEvent`.
    :param customer: the customer as a dict (``id``, ``name``, ``email``, ``phone``,
        ``updated_at`` and the other payload fields).
    :param tenant: the :class:`saas.hooks.types.TenantInfo`.
    :param config: this plugin's settings for that tenant.

    Return a dict with the external system's ``external_id`` (stored on the delivery).
    """


# -- Periodic pulls: called by the plugin sync job ------------------------------------


@hookspec
def pull_changes(since, tenant, config):
    """Fetch what changed in an external system since the last pull.

    Fires from the periodic plugin sync job, once per tenant that enabled the plugin.

    :param since: aware UTC datetime of the last successful pull, or None the first time.
    :param tenant: the :class:`saas.hooks.types.TenantInfo`.
    :param config: this plugin's settings for that tenant.

    Return a :class:`saas.hooks.types.PulledChanges` (or None for nothing): customer
    records to merge (last writer wins by ``updated_at``) and interactions to log.
    """


# -- Inbound messages: a channel hands over what a customer sent ---------------------


@hookspec(firstresult=True)
def inbound_message(message, tenant):
    """Take over an inbound email or SMS that a channel plugin received.

    Fires when a channel calls :func:`saas.services.plugins.receive_inbound`. Internal
    components (the service desk) implement it to open a ticket. Stops at the first
    non-None result.

    :param message: the :class:`saas.hooks.types.InboundMessage` (channel, sender,
        subject, body, provider id, received_at).
    :param tenant: the :class:`saas.hooks.types.TenantInfo`.

    Return a short reference of what was created (e.g. ``"ticket:<id>"``), or None to
    let the next implementation handle it.
    """
