"""Issue #4 (Customer 360): every claim of the issue names the tests that prove it, and
this file fails when such a test is renamed or removed — the map cannot drift.

Only tests that were read and really check their claim are listed. Claims with no such
test are in `UNPROVEN`, with what is missing; they are not proven by this file. The
benchmarks (import vs COPY, API p50/p95, 360 page at 10k timeline items) are not tests:
see `bench/` and `bench/results/`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.claim_maps import named_tests

ROOT = Path(__file__).resolve().parent

CUST = "services/test_customers.py"
ACT = "services/test_customers_activity.py"
LIST = "services/test_customers_list.py"
ORD = "services/test_customers_orders.py"
IMP = "services/test_imports.py"
ENT = "services/test_imports_entities.py"
DUP = "services/test_duplicates.py"
MERGE = "services/test_merge.py"
API = "api/test_customers.py"
RES = "api/test_customers_resources.py"
API_IMP = "api/test_imports.py"
API_DUP = "api/test_imports_duplicates.py"
WEB = "web/test_customers.py"
WEB_IMP = "web/test_imports.py"
EXPORT = "services/test_export_formula_neutralising.py"
UNREAD = "services/test_import_unreadable_rows.py"

CLAIMS: dict[str, tuple[str, ...]] = {
    # 1. models and services
    "customer writes are audited and emit customer.created / customer.updated": (
        f"{CUST}::test_create_audits_and_emits_customer_created",
        f"{CUST}::test_update_changes_only_given_fields_and_resyncs_lookups",
        f"{CUST}::test_update_without_changes_emits_nothing"),
    "order.placed and order.refunded are emitted": (
        f"{ORD}::test_place_order_computes_amounts_with_decimal",
        f"{ORD}::test_refund_marks_order_and_emits_event_once"),
    "interaction.logged is emitted with the staff member": (
        f"{ACT}::test_log_interaction_records_staff_and_emits_event",),
    "customer.merged is emitted and audited": (
        f"{MERGE}::test_merge_moves_related_records_and_keeps_a_tombstone",),
    "customer: person or company, phones, emails, tags, birthday via the API": (
        f"{API}::test_create_get_update_delete",),
    "customer: every field is in the field registry (issue 11 tests walk it)": (
        "api/test_privacy_fields.py::test_registry_covers_every_customer_field_and_custom_field",),
    "category list per tenant, editable, defaults from the template": (
        f"{CUST}::test_category_defaults_come_from_the_tenant_template",
        f"{CUST}::test_tenant_can_edit_its_categories",
        "web/test_customer_fields.py::test_categories_can_be_replaced_but_not_emptied"),
    "owner (staff) of the same tenant only": (
        f"{CUST}::test_owner_can_be_set_to_a_staff_member",
        f"{CUST}::test_owner_of_another_tenant_is_rejected"),
    "consent per channel with status, when and source": (
        f"{CUST}::test_consent_records_when_and_source",),
    "all customer tables are tenant-scoped (another tenant's id is 404)": (
        f"{CUST}::test_other_tenants_customer_is_not_found",
        f"{API}::test_other_tenants_ids_are_404_everywhere",
        f"{RES}::test_other_tenants_resources_are_404",
        "test_cross_tenant_ids.py::test_another_tenants_ids_are_not_found_on_any_api_endpoint"),
    "custom fields of six types coerced on every write": (
        f"{CUST}::TestCustomFields::test_values_are_coerced_to_their_type",),
    "custom fields: required, wrong type and unknown key refused": (
        f"{CUST}::TestCustomFields::test_required_field_missing_is_reported_on_create_and_update",
        f"{CUST}::TestCustomFields::test_wrong_type_or_unknown_field_names_the_field",
        f"{API}::test_wrong_type_for_custom_field_is_422"),
    "custom field definitions: bad ones refused, duplicates conflict, UI for owners": (
        f"{CUST}::TestCustomFields::test_bad_definitions_are_rejected",
        f"{CUST}::TestCustomFields::test_duplicate_key_conflicts",
        "web/test_customer_fields.py::test_owner_adds_and_deletes_a_custom_field",
        "web/test_customer_fields.py::test_agents_cannot_configure_fields"),
    "contacts: name, title, phone, email, one primary; only for companies": (
        f"{ACT}::test_contacts_normalise_and_keep_one_primary",
        f"{ACT}::test_person_customers_have_no_contacts",
        f"{ACT}::test_bad_contact_input_names_the_field"),
    "product catalogue: SKU unique per tenant, tenant currency": (
        f"{ORD}::test_product_defaults_to_tenant_currency_and_sku_is_unique",
        f"{ORD}::test_bad_product_input_names_the_field"),
    "orders with lines, Decimal amounts, currency, status incl. refunded": (
        f"{ORD}::test_place_order_computes_amounts_with_decimal",
        f"{ORD}::test_status_moves_only_forward",
        f"{ORD}::test_refund_marks_order_and_emits_event_once",
        f"{RES}::test_orders_place_list_refund"),
    "interactions: channel, direction, kind, summary, staff, time, follow-up date": (
        f"{ACT}::test_log_interaction_records_staff_and_emits_event",
        f"{ACT}::test_bad_interaction_input_names_the_field"),
    # 2. customer list
    "filter by fields, tags, owner, category, custom fields, consent": (
        f"{LIST}::test_filters_by_fields_tags_owner_category_and_custom_fields",
        f"{WEB}::test_list_filters_by_custom_field_in_the_url"),
    "bad filters name the field": (
        f"{LIST}::test_bad_filters_name_the_field",
        f"{WEB}::test_bad_filter_is_reported_not_crashed"),
    "search by phone in any format, email any case, name substring": (
        f"{LIST}::test_search_finds_phone_typed_in_any_format",
        f"{LIST}::test_search_by_email_is_case_insensitive_and_by_name_substring",
        f"{API}::test_list_filters_and_searches_by_phone_in_any_format"),
    "keyset pagination for every sort, tampered cursors refused": (
        f"{LIST}::test_keyset_walk_visits_every_customer_once_in_order",
        f"{LIST}::test_tampered_or_foreign_cursor_is_a_field_error",
        f"{API}::test_deep_keyset_walk_returns_each_customer_once",
        "api/test_pagination.py::test_pages_are_fetched_without_offset"),
    "saved views per staff member": (
        f"{ACT}::test_saved_views_are_private_to_their_staff_member",
        f"{ACT}::test_saved_view_filters_are_validated",
        f"{RES}::test_saved_views_belong_to_their_staff_member",
        f"{WEB}::test_saved_view_round_trip"),
    # 3. 360 page
    "360 page: profile, key figures, timeline, quick log form": (
        f"{WEB}::test_360_page_shows_key_figures_timeline_and_logs_a_call",
        f"{API}::test_key_figures_and_timeline"),
    "key figures: total spend per currency, count, first/last order, average interval": (
        f"{ORD}::test_key_figures_count_only_real_spend",
        f"{ORD}::test_key_figures_of_a_customer_without_orders"),
    "merged timeline with an extension point (no page change)": (
        "test_timeline.py::test_orders_and_interactions_merge_newest_first",
        "test_timeline.py::test_a_registered_source_appears_without_changing_the_page",
        "test_timeline.py::test_paging_with_before_continues_where_the_last_page_ended"),
    "later issues' items reach the timeline (tickets, visits, points, surveys)": (
        "services/test_tickets.py::test_tickets_appear_on_the_customer_timeline",
        "web/test_loyalty_timeline.py::test_points_and_tier_items_are_rendered_in_the_readers_language",
        "services/test_visits.py::test_recording_a_visit_logs_an_interaction_and_plans_the_next",
        "services/test_surveys.py::"
        "test_a_resolved_ticket_invites_the_customer_and_a_low_score_opens_a_follow_up",
        "services/test_consent_history.py::test_consent_changes_appear_on_the_timeline"),
    # 4. import
    "upload reads the header and suggests a mapping": (
        f"{IMP}::test_upload_reads_header_counts_rows_and_suggests_a_mapping",),
    "mapping checked and saved for the next upload": (
        f"{IMP}::test_mapping_is_checked_and_saved_for_the_next_upload",
        f"{API_IMP}::test_bad_mapping_is_422_per_column_and_start_needs_nothing_else"),
    "dry-run preview writes nothing": (
        f"{IMP}::test_preview_shows_each_rows_outcome_and_writes_nothing",),
    "per-row validation, error report (row, column, value, message), good rows kept": (
        f"{IMP}::test_good_rows_are_kept_and_bad_rows_reported_by_row_column_and_value",
        f"{API_IMP}::test_full_flow_keeps_good_rows_and_reports_bad_ones",
        f"{WEB_IMP}::test_upload_map_preview_start_and_download_errors"),
    "re-import upserts by external id / email / phone": (
        f"{IMP}::test_reimport_updates_by_email_phone_and_external_id_instead_of_duplicating",),
    "runs as an RQ job (real worker) with progress": (
        "api/test_imports_worker.py::test_started_import_is_queued_then_done_by_the_worker",
        f"{WEB_IMP}::test_upload_map_preview_start_and_download_errors"),
    "contacts, products, orders and interactions can be imported": (
        f"{ENT}::test_products_upsert_by_sku",
        f"{ENT}::test_contacts_find_their_company_by_any_reference",
        f"{ENT}::test_orders_are_imported_once_and_local_times_use_the_tenant_zone",
        f"{ENT}::test_interactions_are_not_logged_twice"),
    "XLSX import (numbers, dates, text); a fake XLSX refused": (
        f"{IMP}::test_xlsx_numbers_dates_and_text_are_imported",
        f"{IMP}::test_a_fake_xlsx_is_refused"),
    "import: another tenant's job is 404, read-only roles cannot import": (
        f"{IMP}::test_another_tenants_import_is_not_found",
        f"{API_IMP}::test_other_tenants_import_is_404_everywhere",
        f"{API_IMP}::test_readonly_role_and_read_token_cannot_import"),
    # 5. export
    "export of the current filter, CSV and XLSX, streamed": (
        f"{API_DUP}::test_export_streams_the_filtered_list_with_formulas_neutralised",
        f"{WEB_IMP}::test_export_uses_the_list_filter",
        f"{WEB_IMP}::test_customer_list_links_to_the_export_of_its_filter"),
    "formula injection neutralised for = + - @ tab CR, CSV and XLSX": (
        f"{EXPORT}::test_every_formula_start_is_neutralised_in_csv_and_xlsx",
        f"{EXPORT}::test_a_formula_character_inside_a_cell_is_left_alone"),
    "export: bad filter or format is 422": (
        f"{API_DUP}::test_export_bad_filter_or_format_is_422_and_readonly_can_export",),
    # 6. duplicates and merge
    "phones E.164 and emails lower-cased, duplicates found across formats": (
        f"{CUST}::test_create_normalises_phones_and_emails_and_records_lookups",
        f"{DUP}::test_phones_typed_differently_and_emails_in_other_case_are_found"),
    "names compared by similarity (pg_trgm on PostgreSQL)": (
        f"{DUP}::test_same_name_and_similar_name_at_the_same_address",
        f"{DUP}::test_dissimilar_names_at_one_address_are_not_pairs"),
    "duplicates queue page with the reason for each pair": (
        f"{API_DUP}::test_pairs_are_listed_with_reasons_and_merge_moves_everything",
        f"{WEB_IMP}::test_duplicates_queue_compare_and_merge"),
    "merge picks the surviving value per field, moves everything, merge record + audit": (
        f"{MERGE}::test_merge_moves_related_records_and_keeps_a_tombstone",
        f"{MERGE}::test_custom_field_choice_per_key",
        f"{MERGE}::test_every_customer_foreign_key_in_the_schema_is_handled"),
    "bad merges refused, nothing moves": (
        f"{MERGE}::test_bad_choices_are_refused_and_nothing_moves",
        f"{MERGE}::test_self_merge_and_merging_a_tombstone_are_refused",
        f"{API_DUP}::test_merge_input_errors"),
    "merging across tenants is impossible": (
        f"{MERGE}::test_merging_across_tenants_is_impossible",
        f"{API_DUP}::test_other_tenants_customers_cannot_be_merged_or_dismissed"),
    # 7. REST API
    "REST API for customers and related resources, roles enforced": (
        f"{API}::test_create_get_update_delete",
        f"{API}::test_readonly_role_cannot_write_and_read_token_cannot_write",
        f"{RES}::test_contacts_crud_and_validation",
        f"{RES}::test_products_crud_and_conflict",
        f"{RES}::test_interactions_log_and_list",
        f"{RES}::test_readonly_role_cannot_write_resources"),
    "every endpoint documented in the OpenAPI spec and docs/api.md": (
        "api/test_docs.py::test_endpoint_is_documented",
        "api/test_docs.py::test_documented_endpoint_exists"),
    "bulk upsert keeps good rows and reports bad ones": (
        f"{ACT}::test_bulk_upsert_matches_by_external_id_email_or_phone_and_reports_bad_rows",
        f"{API}::test_bulk_upsert_reports_per_row_errors_and_keeps_good_rows"),
    # bad input
    "malformed phones and emails are field errors": (
        f"{CUST}::test_bad_input_names_the_field_and_writes_nothing",
        f"{CUST}::test_all_bad_fields_are_reported_at_once",
        f"{API}::test_bad_input_is_422_naming_the_field"),
    "GBK and UTF-8 with BOM are both read": (f"{IMP}::test_gbk_and_utf8_bom_files_are_both_read",),
    "missing / bad header and binary files refused precisely": (
        f"{IMP}::test_unreadable_files_are_refused_with_a_precise_message",
        f"{API_IMP}::test_upload_errors_name_the_field",
        f"{WEB_IMP}::test_bad_file_and_bad_mapping_are_shown_not_crashed"),
    "a file over IMPORT_MAX_BYTES (128 MB) is refused before it is read, naming the limit": (
        f"{API_IMP}::test_a_file_over_the_import_limit_is_refused_before_it_is_read",
        f"{WEB_IMP}::test_a_file_over_the_import_limit_gets_a_413_page_stating_it",
        "api/test_import_upload_limit.py::"
        "test_an_import_file_above_the_import_limit_is_413_naming_the_limit",
        "web/test_import_upload_limit.py::"
        "test_a_file_over_the_import_limit_gets_a_page_stating_the_limit"),
    "import files may be larger than other request bodies (a 100 MB file is accepted)": (
        "api/test_import_upload_limit.py::"
        "test_an_import_file_above_the_general_limit_is_accepted",
        "api/test_import_upload_limit.py::test_other_endpoints_keep_the_general_limit",
        "web/test_import_upload_limit.py::"
        "test_import_page_takes_a_file_above_the_general_limit"),
    "bad encoding reported precisely per row, nothing good lost": (
        f"{UNREAD}::test_a_stray_byte_in_a_utf8_file_spoils_its_own_row_only",
        f"{UNREAD}::test_a_utf8_row_pasted_into_a_gbk_file_is_reported_not_garbled",
        f"{UNREAD}::test_the_encoding_follows_most_lines_not_one_odd_line",
        f"{UNREAD}::test_a_file_mostly_in_another_encoding_is_refused_up_front"),
    "broken quoting reported precisely, the rows after it kept": (
        f"{UNREAD}::test_an_unclosed_quote_does_not_swallow_the_rows_after_it",
        f"{UNREAD}::test_a_cell_with_text_after_its_closing_quote_is_reported",
        f"{UNREAD}::test_rows_numbers_stay_spreadsheet_rows_after_a_recovered_quote",
        f"{UNREAD}::test_a_header_that_cannot_be_read_is_refused_naming_row_one"),
    "customers can be imported with consent per channel (history source import)": (
        "services/test_import_consent.py::"
        "test_consent_columns_are_suggested_and_imported_with_history",
        "services/test_import_consent.py::"
        "test_a_word_that_is_not_consent_fails_its_row_naming_the_column",
        "services/test_import_consent.py::test_reimporting_the_same_consent_adds_no_history"),
    "duplicate rows inside one file": (
        f"{IMP}::test_duplicate_rows_in_one_file_are_reported_and_imported_once",),
    "quotes and newlines inside cells, emoji and CJK": (
        f"{IMP}::test_quotes_newlines_emoji_and_cjk_survive",
        f"{CUST}::test_emoji_and_cjk_names_are_kept"),
    "a row wider than the header is reported alone": (
        f"{IMP}::test_a_row_wider_than_the_header_is_reported_alone",),
    "unknown custom field / wrong type in an import": (
        f"{IMP}::test_custom_fields_are_validated_and_unknown_ones_refused_in_the_mapping",),
    # checked by
    "browser: import with bad rows, download the report, open the 360 page, log a call": (
        "browser/test_import_flow.py::test_import_with_bad_rows_then_log_a_call",),
}

# Claims with no test that proves them (or that do not hold); see the audit report.
UNPROVEN: dict[str, str] = {
    "PostgreSQL fast path keeps the rules of the row path":
        "COPY path ignores field permissions and row scope (issue 11), one event per chunk",
    "API p95 <= 30 ms": "bench only, above target (known)",
}


@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_every_claim_of_issue_4_names_existing_tests(claim):
    assert CLAIMS[claim], f"{claim}: no test named"
    for node_id in CLAIMS[claim]:
        path, name = node_id.split("::", 1)
        assert (ROOT / path).exists(), f"{claim}: {path} is missing"
        assert name in named_tests(path), f"{claim}: {node_id} is missing"


def test_unproven_claims_are_not_also_claimed_as_proven():
    assert not set(UNPROVEN) & set(CLAIMS)
