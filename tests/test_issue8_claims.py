"""Issue #8 (campaigns and surveys): every claim of the issue names the test that proves
it, and this file fails when such a test is renamed or removed — the map cannot drift.

The benchmark (100k recipients vs raw RQ) is not a test: see `bench/bench_campaign.py` and
`bench/results/`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.claim_maps import named_tests

ROOT = Path(__file__).resolve().parent

SVC = "services/test_campaigns.py"
SURV = "services/test_surveys.py"
WORKER = "jobs/test_campaigns_worker.py"
FORMS = "web/test_campaign_forms.py"
BUILDER = "web/test_survey_builder.py"

CLAIMS: dict[str, str] = {
    # 1. campaigns
    "audience = a segment, snapshot stored at launch":
        f"{SVC}::test_launch_snapshots_the_segment_and_sends_each_recipient_once",
    "channel = any enabled channel plugin (form offers only those)":
        f"{FORMS}::test_new_campaign_form_lists_only_enabled_channels_and_own_segments",
    "sandboxed Jinja templates with customer fields; errors at save with the line":
        f"{SVC}::test_template_errors_are_caught_at_save_with_line_and_name",
    "template error shown in the form next to the field, nothing saved":
        f"{FORMS}::test_template_syntax_error_shows_the_line_and_saves_nothing",
    "tracked links count clicks":
        f"{SVC}::test_ab_test_sends_the_winner_to_the_rest_after_the_window",
    "scheduling in the tenant's time zone": f"{SVC}::test_scheduling_is_in_the_tenants_time_zone",
    "scheduling from the web form in the tenant's zone":
        f"{FORMS}::test_launch_later_is_read_in_the_tenants_time_zone",
    "quiet hours defer, never drop":
        f"{SVC}::test_quiet_hours_defer_sends_to_the_morning_in_the_tenants_zone",
    "per-channel rate limit": f"{SVC}::test_rate_limit_defers_the_rest_to_the_next_minute",
    "A/B split, winner by metric after the window":
        f"{SVC}::test_ab_test_sends_the_winner_to_the_rest_after_the_window",
    "A/B variants with shares built in the form":
        f"{FORMS}::test_create_ab_campaign_through_the_form",
    "pause, resume, cancel": f"{SVC}::test_pause_resume_and_cancel",
    "pause, resume, cancel buttons": f"{FORMS}::test_pause_resume_and_cancel_buttons",
    "live progress with a progress bar (browser)":
        "browser/test_campaign_flow.py::test_manager_creates_launches_and_sees_progress_reach_100",
    "skipped with reasons in the progress":
        f"{SVC}::test_recipients_without_consent_or_opted_out_are_skipped_with_reasons",
    # 2. exactly once
    "row claimed atomically, nobody else sends it":
        f"{SVC}::test_a_claimed_row_is_sent_by_nobody_else_until_its_lease_ends",
    "idempotency key to the channel":
        f"{SVC}::test_launch_snapshots_the_segment_and_sends_each_recipient_once",
    "several real RQ workers share batches, SMTP against aiosmtpd":
        f"{WORKER}::test_two_workers_share_the_batches_and_send_each_email_once",
    "worker killed mid-batch neither skips nor repeats":
        f"{WORKER}::test_worker_killed_mid_batch_neither_skips_nor_repeats_anyone",
    "no consent / opted out skipped with the reason":
        f"{SVC}::test_recipients_without_consent_or_opted_out_are_skipped_with_reasons",
    "unsubscribe link works without login and withdraws consent":
        "services/test_campaign_optouts.py::test_unsubscribe_link_counts_for_its_campaign_and_variant_only",
    # 3. results
    "results per variant, export":
        "web/test_campaigns.py::test_staff_see_campaign_progress_results_and_export",
    "conversion credited to the last campaign touched":
        f"{SVC}::test_a_conversion_is_credited_to_the_last_campaign_that_reached_the_customer",
    "opt-outs per variant through the campaign's own link":
        "services/test_campaign_optouts.py::test_unsubscribe_link_counts_for_its_campaign_and_variant_only",
    "opt-outs by another route after the message":
        "services/test_campaign_optouts.py::test_a_withdrawal_by_staff_after_the_message_still_counts",
    # 4. surveys
    "CSAT / NPS / multi-question with dimensions, built in the UI":
        f"{BUILDER}::test_build_a_multi_question_survey_with_trigger_and_order",
    "survey sent through a campaign":
        f"{SVC}::test_a_campaign_can_carry_a_survey_link_per_recipient",
    "survey after a resolved ticket":
        f"{SURV}::test_a_resolved_ticket_invites_the_customer_and_a_low_score_opens_a_follow_up",
    "survey after a recorded visit":
        "services/test_survey_triggers.py::test_a_recorded_visit_invites_the_customer_with_the_visiting_agent",
    "public page without login, one answer per token, thank-you":
        "web/test_survey_public.py::test_a_customer_answers_once_without_login",
    "public page in a real browser on a phone-sized screen":
        "browser/test_survey_answer.py::test_customer_answers_a_survey_on_the_public_page",
    "public page in Chinese":
        "services/test_survey_triggers.py::test_public_page_speaks_chinese_for_a_chinese_tenant",
    "forged / expired / reused token":
        f"{SURV}::test_forged_foreign_and_expired_tokens_are_refused",
    "out-of-range scores are field errors":
        f"{SURV}::test_bad_scores_are_field_errors_and_nothing_is_recorded",
    # 5. survey results
    "NPS correct": f"{SURV}::test_nps_is_promoters_minus_detractors",
    "CSAT correct": f"{SURV}::test_csat_is_the_share_of_4_and_5",
    "by dimension, tier and month":
        "services/test_survey_triggers.py::test_results_group_by_dimension_tier_and_month",
    "results page: charts, by agent, text answers":
        f"{BUILDER}::test_results_page_shows_scores_by_group_and_text_answers",
    "low score opens a follow-up ticket; loyalty bonus; timeline":
        f"{SURV}::test_a_resolved_ticket_invites_the_customer_and_a_low_score_opens_a_follow_up",
    # 6. workers
    "periodic tick reclaims and re-dispatches":
        f"{WORKER}::test_worker_killed_mid_batch_neither_skips_nor_repeats_anyone",
    "`flask worker` runs periodic work through its cron child":
        "jobs/test_worker.py::test_worker_runs_the_periodic_sweep_through_its_cron_child",
    # bad input
    "segment that became empty": f"{SVC}::test_empty_segment_is_a_clear_error_at_launch",
    "empty segment refused from the launch button":
        f"{FORMS}::test_launch_to_an_empty_segment_is_refused",
    "channel plugin disabled mid-campaign pauses it with the reason":
        f"{SVC}::test_a_channel_disabled_mid_campaign_pauses_it_with_the_reason",
    "bad campaign form input: 422 with the field message, nothing saved":
        f"{FORMS}::test_bad_input_is_422_with_the_field_message",
    "bad survey form input: 422 with the field message, nothing saved":
        f"{BUILDER}::test_bad_survey_input_is_422_with_the_field_message",
    "another tenant's campaign is 404 in the UI":
        f"{FORMS}::test_other_tenants_campaign_is_404_everywhere",
    "another tenant's survey is 404 in the UI": f"{BUILDER}::test_other_tenants_survey_is_404",
    "roles without campaign permission get 403":
        f"{FORMS}::test_roles_without_campaign_permission_get_403",
    "survey pages follow role permissions":
        f"{BUILDER}::test_survey_pages_follow_the_role_permissions",
    "demo data: finished campaign with results and a survey with answers":
        "demo/test_campaigns.py::test_generator_makes_a_finished_campaign_with_results_and_a_survey_once",
}




@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_every_claim_of_issue_8_names_an_existing_test(claim):
    path, name = CLAIMS[claim].split("::")
    assert (ROOT / path).exists(), f"{claim}: {path} is missing"
    assert name in named_tests(path), f"{claim}: {path}::{name} is missing"
