//! The rows a step schedules in `jobs`: timers, queued steps and notices, and which of them
//! this process runs itself straight after the commit. Pure: `now` and the owner are given.

use assent_engine::{DeescalateCause, Notice, Timer, Trigger};
use assent_store::{Job, NewJob, Task};

// How long a worker owns a timer it is firing. Longer than any step takes (plugin calls are
// bounded by their deadlines), short enough that a crashed worker's timers fire soon after.
pub(crate) const LEASE_MS: i64 = 30_000;

/// Jobs delivering `notices` about run `run_id`, leased to `owner`, which delivers them as
/// soon as the step commits.
pub(crate) fn notice_jobs(
    run_id: &str,
    notices: Vec<Notice>,
    now: i64,
    owner: &str,
) -> Vec<NewJob> {
    notices
        .into_iter()
        .map(|notice| NewJob {
            run_id: run_id.to_owned(),
            task: Task::Notice(notice),
            due_at: now,
            leased_to: Some((owner.to_owned(), now + LEASE_MS)),
        })
        .collect()
}

/// The jobs of `schedule` (committed as `job_ids`) that this process runs itself.
pub(crate) fn queued_jobs(org_id: &str, schedule: &[NewJob], job_ids: Vec<String>) -> Vec<Job> {
    schedule
        .iter()
        .zip(job_ids)
        .filter(|(job, _)| job.leased_to.is_some())
        .map(|(job, id)| Job {
            id,
            org_id: org_id.to_owned(),
            run_id: job.run_id.clone(),
            task: job.task.clone(),
            due_at: job.due_at,
            attempts: 1,
        })
        .collect()
}

/// The timer's job, due relative to `now`.
pub(crate) fn timer_job(run_id: &str, timer: Timer, now: i64, owner: &str) -> NewJob {
    let after = |seconds: u64| {
        now.saturating_add(i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX))
    };
    let (trigger, due_at) = match timer {
        Timer::NotificationTimeout {
            notification,
            after: seconds,
        } => (
            Trigger::NotificationTimeout { notification },
            after(seconds),
        ),
        Timer::RequestTimeout { after: seconds } => (Trigger::RequestTimeout, after(seconds)),
        Timer::Escalate => (Trigger::Escalate, now),
        Timer::Deescalate { after: seconds } => (
            Trigger::Deescalate {
                cause: DeescalateCause::Expiry,
            },
            after(seconds),
        ),
    };
    // A queued escalation is run by the process that queued it, straight after the approval
    // commits; it is leased to that process so no worker takes it meanwhile. Should the
    // process die first, the lease runs out and any worker fires it.
    let leased_to = (timer == Timer::Escalate).then(|| (owner.to_owned(), now + LEASE_MS));
    NewJob {
        run_id: run_id.to_owned(),
        task: Task::Step(trigger),
        due_at,
        leased_to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fall_due_relative_to_now_and_only_escalation_is_leased() {
        let now = 5_000;
        let expiry = timer_job("r", Timer::RequestTimeout { after: 2 }, now, "w");
        assert_eq!(expiry.due_at, 7_000);
        assert_eq!(expiry.leased_to, None);
        let escalate = timer_job("r", Timer::Escalate, now, "w");
        assert_eq!(escalate.due_at, now);
        assert_eq!(escalate.leased_to, Some(("w".to_owned(), now + LEASE_MS)));
        let far = timer_job("r", Timer::Deescalate { after: u64::MAX }, now, "w");
        assert_eq!(
            far.due_at,
            i64::MAX,
            "a huge duration saturates instead of wrapping"
        );
    }

    #[test]
    fn only_jobs_leased_to_this_process_are_queued() {
        let schedule = [
            timer_job("r", Timer::Escalate, 0, "w"),
            timer_job("r", Timer::RequestTimeout { after: 1 }, 0, "w"),
        ];
        let queued = queued_jobs("o", &schedule, vec!["j1".into(), "j2".into()]);
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].id, "j1");
        assert_eq!(queued[0].task, Task::Step(Trigger::Escalate));
    }
}
