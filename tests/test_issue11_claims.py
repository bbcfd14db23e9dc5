"""Issue #11 (privacy and access control): every claim of the issue names the tests that
prove it, and this file fails when such a test is renamed or removed — the map cannot
drift.

Only tests that were read and really check their claim are listed. Claims with no such
test, or that do not hold everywhere, are in `UNPROVEN` with what is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.claim_maps import named_tests

ROOT = Path(__file__).resolve().parent

FIELDS = "api/test_privacy_fields.py"
MASK = "api/test_field_masking.py"
CHECK = "api/test_privacy_checklist.py"
REQ = "api/test_privacy_requests.py"
TRAIL = "api/test_privacy_audit_trail.py"
SCOPE = "api/test_row_scope_endpoints.py"
TPL = "api/test_privacy_templates.py"
WEB = "web/test_privacy.py"
WEB_MASK = "web/test_privacy_masking.py"
WEB_REG = "web/test_privacy_registry.py"
WEB_FILTERS = "web/test_privacy_list_filters.py"
ENC = "services/test_customer_encryption.py"
ENC_CONTACTS = "services/test_encryption_at_rest.py"
CONSENT = "services/test_consent_history.py"
SUBJECT = "services/test_subject_requests.py"
RETENTION = "services/test_retention.py"
BROWSER = "browser/test_privacy_flow.py"
WRITES = "api/test_row_scope_writes.py"
SEGMENTS = "api/test_segments_privacy.py"
WEB_SEG_IMP = "web/test_privacy_segments_imports.py"

CLAIMS: dict[str, tuple[str, ...]] = {
    # 1. field-level permissions
    "per role and field (built-in, custom, order amounts): hidden leaves the API, list, "
    "export and filters": (
        f"{FIELDS}::test_hidden_field_is_absent_from_every_surface_for_that_role",
        f"{FIELDS}::test_registry_covers_every_customer_field_and_custom_field"),
    "hidden fields are absent from the UI pages of that role": (
        f"{WEB_REG}::test_field_hidden_by_the_admin_is_absent_from_that_roles_pages",
        f"{WEB_REG}::test_every_registered_field_has_a_marker",
        f"{WEB}::test_admin_hides_a_field_and_the_agent_no_longer_sees_it"),
    "hidden order amounts leave orders, key figures and the timeline": (
        f"{CHECK}::test_hidden_order_amounts_leave_the_orders_api",
        f"{FIELDS}::test_hidden_order_amounts_leave_the_timeline_too"),
    "hidden fields leave the list's filter inputs, columns and search box": (
        f"{WEB_FILTERS}::test_filter_input_and_column_only_for_roles_that_see_the_field",
        f"{WEB_FILTERS}::test_search_box_offers_phone_or_email_only_when_visible_in_clear",
        f"{WEB_FILTERS}::test_every_filter_input_of_a_restrictable_field_is_covered"),
    "hidden fields are not template variables (campaigns, care rules)": (
        f"{TPL}::test_campaign_variants_may_only_read_fields_the_author_sees",
        f"{TPL}::test_editing_a_campaign_checks_the_new_variants",
        f"{TPL}::test_whole_customer_in_a_template_is_refused_once_anything_is_restricted",
        f"{TPL}::test_reading_through_mapping_methods_and_filters_is_refused_too",
        f"{TPL}::test_care_rules_may_only_read_order_amounts_the_author_sees",
        "services/test_field_access_templates.py::"
        "test_template_reading_a_field_the_author_may_not_see_is_403",
        "web/test_privacy_campaign_form.py::"
        "test_campaign_form_refuses_a_variable_the_author_may_not_see"),
    "a write to a read-only field is a 403 naming the field": (
        f"{FIELDS}::test_writing_a_read_only_field_is_403_naming_it",
        f"{MASK}::test_a_masked_field_is_not_writable_and_the_403_names_it",
        f"{WEB_MASK}::test_contact_with_a_phone_is_refused_when_phones_are_read_only",
        f"{MASK}::test_contact_phone_follows_the_customer_phones_permission"),
    "masked fields: masked on every surface, revealed one at a time": (
        f"{MASK}::test_masked_field_is_masked_on_every_surface_and_revealed_with_an_audit",
        f"{WEB_MASK}::test_agent_sees_masked_values_everywhere_and_reveals_one_with_an_audit",
        f"{WEB_MASK}::test_saving_the_form_keeps_a_masked_value"),
    "bad permission changes are 422, only privacy admins may change them": (
        f"{FIELDS}::test_bad_permission_change_names_the_field_and_writes_nothing",
        f"{FIELDS}::test_privacy_settings_need_privacy_manage",
        f"{MASK}::test_bad_level_is_422_and_changes_nothing",
        f"{WEB}::test_privacy_pages_are_for_admins_only"),
    "row scope all / department / own on list, get, write and export": (
        f"{FIELDS}::test_row_scope_limits_list_get_and_export",
        f"{FIELDS}::test_bad_row_scope_is_422"),
    "row scope on every by-customer endpoint and page": (
        f"{SCOPE}::test_customer_outside_the_row_scope_is_404_on_every_endpoint",
        f"{SCOPE}::test_customer_outside_a_managers_own_scope_is_404",
        f"{SCOPE}::test_ticket_list_leaves_out_tickets_of_customers_outside_the_scope",
        f"{SCOPE}::test_visit_tasks_follow_the_row_scope",
        f"{WEB_MASK}::test_pages_of_a_customer_outside_the_row_scope_are_404",
        f"{WEB_MASK}::test_visit_pages_follow_the_row_scope"),
    "row scope on bulk upsert, import and segment members/count": (
        f"{WRITES}::test_bulk_row_matching_a_customer_outside_the_scope_is_refused",
        f"{WRITES}::test_bulk_updates_the_agents_own_customer_and_the_owner_updates_any",
        f"{WRITES}::test_department_scope_updates_its_departments_customer_only",
        f"{WRITES}::test_import_row_matching_a_customer_outside_the_scope_is_a_row_error",
        f"{WRITES}::test_owner_import_of_the_same_file_updates_the_customer",
        f"{WRITES}::test_order_import_cannot_reach_a_customer_outside_the_scope",
        f"{SEGMENTS}::test_count_and_members_are_limited_to_the_row_scope",
        f"{WEB_SEG_IMP}::test_segment_page_counts_and_lists_only_customers_in_scope",
        f"{WEB_SEG_IMP}::test_import_page_reports_a_row_matching_another_owners_customer"),
    "read-only fields refused on the PostgreSQL import fast path": (
        f"{WRITES}::test_mapping_a_column_to_a_read_only_or_hidden_field_is_403_naming_it",
        f"{WRITES}::test_a_mapping_saved_before_the_field_was_restricted_is_refused_at_start",
        f"{WRITES}::test_import_targets_leave_out_hidden_fields_and_mark_read_only_ones",
        f"{WRITES}::test_lookup_by_a_hidden_value_is_not_offered_nor_accepted",
        f"{WEB_SEG_IMP}::test_mapping_page_offers_no_hidden_field_and_disables_read_only_ones"),
    "hidden fields absent from search filters (segment count)": (
        f"{SEGMENTS}::test_rule_on_a_hidden_field_is_422_naming_it_like_the_list_filter",
        f"{SEGMENTS}::test_saved_segment_on_a_hidden_field_shows_no_count_or_members",
        f"{SEGMENTS}::test_masked_custom_field_and_hidden_order_amounts_count_as_hidden",
        f"{SEGMENTS}::test_manager_cannot_save_a_segment_on_a_field_hidden_from_managers",
        f"{WEB_SEG_IMP}::test_segment_on_a_hidden_field_shows_neither_count_nor_members",
        f"{WEB_SEG_IMP}::test_builder_count_on_a_hidden_field_is_refused_next_to_the_row"),
    # 2. encryption at rest
    "phones, emails, WeChat id, address encrypted by default; raw SQL sees no plaintext": (
        f"{ENC}::test_personal_customer_fields_are_registered_for_rotation",
        f"{ENC}::test_database_holds_no_plaintext_of_customer_personal_fields",
        f"{ENC_CONTACTS}::test_database_holds_no_plaintext_of_encrypted_fields",
        f"{ENC}::test_import_writes_ciphertext_and_upserts_by_email_and_phone"),
    "existing rows encrypted by the migration": (
        "models/test_customer_encryption_migration.py::"
        "test_migration_encrypts_existing_customers_and_rewrites_lookups",),
    "lookups by normalised phone/email through a keyed blind index": (
        f"{ENC}::test_search_by_phone_or_email_in_any_form_still_finds_the_customer",
        f"{ENC}::test_blind_index_depends_on_its_key",
        f"{ENC}::test_api_upsert_matches_by_phone_and_email",
        f"{ENC}::test_indexer_is_the_blind_index"),
    "key rotation through the key ring; old tokens readable meanwhile": (
        "test_crypto.py::test_value_encrypted_with_old_key_still_decrypts_after_new_key_is_prepended",
        "test_crypto.py::test_keys_rotate_reencrypts_every_registered_column_with_the_first_key",
        "test_crypto.py::test_keys_rotate_reports_values_no_key_decrypts_and_fails",
        f"{ENC}::test_keys_rotate_reencrypts_customers_and_lookups_still_work",
        f"{ENC_CONTACTS}::test_keys_rotate_reencrypts_contacts_with_the_new_key"),
    # 3. consent history
    "every grant/withdrawal kept with time, source and actor": (
        f"{CONSENT}::test_every_grant_and_withdrawal_is_kept_with_source_and_actor",
        f"{REQ}::test_consent_change_is_kept_in_history_and_current_state"),
    "unsubscribe link recorded as its own source": (
        f"{CONSENT}::test_unsubscribe_link_is_recorded_as_unsubscribe_and_withdraws",
        "web/test_plugins.py::test_unsubscribe_link_asks_then_withdraws_consent"),
    "current state derived from the history": (
        f"{CONSENT}::test_current_status_reads_the_history_over_a_stale_column",),
    "consent history on the 360 timeline, following the consent permission": (
        f"{CONSENT}::test_consent_changes_appear_on_the_timeline",
        f"{FIELDS}::test_hidden_consent_leaves_the_timeline",
        f"{CHECK}::test_consent_history_follows_the_consent_field_permission"),
    "honoured by plugin sends, campaigns and care messages": (
        "plugins/test_plugin_email.py::test_customer_mail_carries_an_unsubscribe_link_that_is_honoured",
        "services/test_campaigns.py::test_recipients_without_consent_or_opted_out_are_skipped_with_reasons",
        "services/test_care.py::test_birthday_greeting_goes_once_per_year_and_respects_consent"),
    "honoured by ticket replies and survey invitations (real SMTP)": (
        "services/test_consent_every_send.py::"
        "test_a_ticket_reply_is_kept_but_not_mailed_after_consent_is_withdrawn",
        "services/test_consent_every_send.py::"
        "test_a_survey_invitation_is_not_mailed_after_consent_is_withdrawn"),
    "bad consent changes are 422 naming the field": (
        f"{CONSENT}::test_bad_consent_change_names_the_field_and_writes_nothing",
        f"{REQ}::test_bad_consent_change_is_422_naming_the_field"),
    # 4. read audit
    "viewing the 360 page is recorded": (f"{WEB}::test_viewing_the_360_page_is_in_the_access_log",),
    "a subject export is recorded": (
        f"{REQ}::test_export_is_a_zip_and_shows_in_the_access_log",
        f"{SUBJECT}::test_export_holds_profile_orders_interactions_and_consent_as_json_and_csv"),
    "revealing a masked field is recorded (also in a real browser)": (
        f"{MASK}::test_masked_field_is_masked_on_every_surface_and_revealed_with_an_audit",
        f"{BROWSER}::test_admin_masks_phones_and_an_agent_reveals_one_which_is_logged"),
    "who saw this customer in the last 90 days (who, when, what, where)": (
        f"{CHECK}::test_who_saw_lists_reads_of_this_customer_in_the_window_only",),
    # 5. subject requests
    "export as JSON + CSV archive, incl. what was merged in": (
        f"{SUBJECT}::test_export_holds_profile_orders_interactions_and_consent_as_json_and_csv",
        f"{SUBJECT}::test_export_of_a_merged_customer_includes_what_was_merged_in",
        "services/test_subject_export_contents.py::"
        "test_export_holds_tickets_points_survey_answers_consent_and_deliveries"),
    "erase: personal fields wiped, lookups gone, facts kept, record without personal data": (
        f"{SUBJECT}::test_erase_wipes_personal_fields_and_lookups_so_old_phone_finds_nothing",),
    "erase: event to every enabled plugin, shown in the delivery log": (
        f"{CHECK}::test_erasure_reaches_every_enabled_plugin_and_shows_in_the_delivery_log",),
    "export and erase in the UI and the API, admins only": (
        f"{WEB}::test_export_and_erase_from_the_privacy_page",
        f"{REQ}::test_export_is_a_zip_and_shows_in_the_access_log",
        f"{REQ}::test_erase_then_search_by_old_phone_finds_nothing",
        f"{REQ}::test_agents_cannot_export_or_erase"),
    "subject requests and privacy settings are audited": (
        f"{TRAIL}::test_an_erasure_is_audited_without_personal_data",
        f"{TRAIL}::test_an_erasure_refused_for_an_agent_leaves_no_entry",
        f"{TRAIL}::test_permission_and_row_scope_changes_are_audited_once"),
    # 6. retention
    "retention: dry-run count first": (
        f"{RETENTION}::test_dry_run_counts_without_changing_anything",
        f"{REQ}::test_retention_policy_preview_and_bad_input"),
    "retention: delete or anonymise older than N months, open tickets kept": (
        f"{RETENTION}::test_delete_policy_removes_old_rows_but_never_open_tickets",
        f"{RETENTION}::test_anonymise_policy_keeps_rows_without_their_text"),
    "retention: run by a job for each tenant": (
        f"{RETENTION}::test_the_nightly_job_applies_each_tenants_policy",),
    "retention: bad policy names the field": (f"{RETENTION}::test_bad_policy_names_the_field",),
    # bad input
    "hiding a field used in a segment or tier rule warns and shows where": (
        f"{FIELDS}::test_hiding_a_field_used_by_a_segment_warns_where_until_confirmed",
        f"{CHECK}::test_hiding_order_amounts_used_by_a_tier_rule_names_the_tier",
        f"{MASK}::test_masking_a_field_used_by_a_segment_asks_for_confirmation",
        f"{WEB}::test_hiding_a_field_used_by_a_segment_asks_for_confirmation"),
    "erasing a customer with an open ticket: allowed, ticket anonymised": (
        f"{SUBJECT}::test_erase_anonymises_an_open_ticket",),
    "export of a merged customer includes what was merged in": (
        f"{SUBJECT}::test_export_of_a_merged_customer_includes_what_was_merged_in",),
    "another tenant's customer is 404": (
        f"{REQ}::test_another_tenants_customer_is_404",
        f"{SUBJECT}::test_another_tenants_customer_cannot_be_exported_or_erased",
        f"{CONSENT}::test_another_tenants_customer_is_not_found",
        f"{MASK}::test_reveal_of_another_tenants_customer_is_404",
        f"{SCOPE}::test_another_tenants_customer_is_404_on_the_by_customer_lists"),
    # checked by
    "erase followed by a search by the old phone finds nothing": (
        f"{ENC}::test_erase_then_search_by_the_old_phone_finds_nothing",
        f"{REQ}::test_erase_then_search_by_old_phone_finds_nothing"),
    "browser: an admin hides a field from agents": (
        f"{BROWSER}::test_admin_hides_wechat_id_from_agents",),
}

# personal data outside the customers table (issue 11 audit, H2)
CLAIMS.update({
    "no plaintext of encrypted fields anywhere in the database": (
        f"{ENC}::test_no_table_holds_phone_or_email_plaintext_after_orders_tickets_campaigns",
        f"{ENC}::test_audit_entries_say_which_encrypted_fields_changed_without_their_values",
        "models/test_recipient_encryption_migration.py::"
        "test_migration_encrypts_existing_recipient_addresses"),
    "erase wipes personal data everywhere": (
        "services/test_erasure_outside_customers.py::"
        "test_erasure_removes_free_text_survey_answers_and_keeps_the_scores",
        "services/test_erasure_outside_customers.py::"
        "test_erasure_removes_the_points_reason_and_its_copies_and_keeps_the_ledger",
        "services/test_erasure_outside_customers.py::"
        "test_erasure_removes_the_address_a_campaign_used_and_keeps_its_counts"),
    "subject export holds ticket conversations and visits": (
        "services/test_subject_export_contents.py::"
        "test_export_follows_tickets_to_their_messages_and_attachment_metadata",
        "services/test_subject_export_contents.py::test_export_holds_the_customers_visits"),
    "a list export shows in 'who saw this customer'": (
        "api/test_read_audit_exports_and_api_reads.py::"
        "test_a_list_export_shows_in_the_access_log_of_each_customer_it_contained",
        "api/test_read_audit_exports_and_api_reads.py::"
        "test_a_list_export_records_only_the_customers_of_the_exporters_row_scope",
        "web/test_privacy_access_log.py::"
        "test_access_log_shows_the_list_export_and_the_api_read"),
    "API reads of one customer are in 'who saw this customer' (throttled per hour)": (
        "api/test_read_audit_exports_and_api_reads.py::"
        "test_api_reads_of_one_customer_are_logged_once_per_staff_customer_and_hour",
        "api/test_read_audit_exports_and_api_reads.py::test_reads_that_fail_are_not_logged"),
})

# Claims with no test that proves them, or that do not hold everywhere (audit report).
UNPROVEN: dict[str, str] = {
    "merge snapshots hold no plaintext": "merge_records.snapshot keeps the merged profile "
                                         "in clear JSON and erasure does not wipe it",
}

SENS = "services/test_sensitive_custom_fields.py"
CLAIMS.update({
    "consent source 'import'": (
        "services/test_import_consent.py::"
        "test_consent_columns_are_suggested_and_imported_with_history",),
    "admin marks custom fields sensitive": (
        f"{SENS}::test_sensitive_value_is_encrypted_but_callers_see_the_merged_values",
        f"{SENS}::test_exact_value_filter_goes_through_the_blind_index",
        f"{SENS}::test_marking_a_field_sensitive_moves_existing_values_and_back",
        f"{SENS}::test_a_crash_midway_loses_nothing_and_a_second_run_changes_nothing",
        f"{SENS}::test_rules_cannot_read_a_sensitive_field"),
    "analytics lists row-scoped; duplicate pairs masked": (
        "api/test_row_scope_analytics.py::"
        "test_analytics_lists_name_only_customers_in_the_row_scope",
        "api/test_row_scope_analytics.py::"
        "test_amounts_derived_from_orders_are_absent_when_order_amounts_are_hidden",
        "api/test_privacy_duplicates_views.py::"
        "test_duplicate_pairs_apply_the_callers_field_levels"),
    "saved view with a now-hidden filter": (
        "api/test_privacy_duplicates_views.py::"
        "test_a_view_whose_filter_became_hidden_names_it_and_offers_the_rest",
        "api/test_privacy_duplicates_views.py::"
        "test_saving_a_view_on_a_field_the_role_may_not_filter_is_422"),
})




@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_every_claim_of_issue_11_names_existing_tests(claim):
    assert CLAIMS[claim], f"{claim}: no test named"
    for node_id in CLAIMS[claim]:
        path, name = node_id.split("::")
        assert (ROOT / path).exists(), f"{claim}: {path} is missing"
        assert name in named_tests(path), f"{claim}: {node_id} is missing"


def test_unproven_claims_are_not_also_claimed_as_proven():
    assert not set(UNPROVEN) & set(CLAIMS)
