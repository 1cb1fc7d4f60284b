//! Capacity: who decides a service's desiredCount and its scalable target's
//! bounds at an instant — the Service, its Autoscaler or its Schedule (SPEC §2.3).
//!
//! ```text
//! schedule inactive            → desiredCount = inactiveDesiredCount     [Schedule]
//!                                target min = max = inactiveDesiredCount  [Schedule]  (with an Autoscaler)
//! active / no schedule, Autoscaler → target [minCapacity, maxCapacity]    [Autoscaler]
//!                                desiredCount belongs to App Auto Scaling
//! active / no schedule, none   → desiredCount = Service.desiredCount      [Service]
//! ```

pub mod schedule;

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::desired::{Desired, DesiredService};
use crate::model::{DocRef, Kind};
use schedule::Evaluation;

/// A value and the document that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided<T> {
    pub value: T,
    pub by: DocRef,
}

/// The capacity of one service at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// The desiredCount to hold, or `None` when Application Auto Scaling owns it.
    pub desired_count: Option<Decided<u32>>,
    /// The scalable target's `(min, max)`, when an Autoscaler targets the service.
    pub bounds: Option<Decided<(u32, u32)>>,
    /// The Schedule that targets the service and its state.
    pub schedule: Option<(String, Evaluation)>,
}

impl Capacity {
    /// The desiredCount to create the service with.
    pub fn initial_count(&self, service: &DesiredService) -> u32 {
        match (&self.desired_count, &self.bounds) {
            (Some(d), _) => d.value,
            (None, Some(b)) => service
                .desired_count
                .clamp(b.value.0, b.value.1.max(b.value.0)),
            (None, None) => service.desired_count,
        }
    }
}

/// Decides the capacity of `service` at `now`. Pure.
pub fn decide(desired: &Desired, service: &DesiredService, now: Timestamp) -> Capacity {
    decide_with(desired, service, &evaluate_schedules(desired, now))
}

/// Every Schedule's state at `now`, evaluated once (not once per service).
pub fn evaluate_schedules(desired: &Desired, now: Timestamp) -> BTreeMap<String, Evaluation> {
    desired
        .schedules
        .iter()
        // Validation parsed each calendar already; one that does not parse cannot be here.
        .filter_map(|(name, s)| {
            Some((
                name.clone(),
                schedule::state_at(&s.doc.spec.calendar().ok()?, now),
            ))
        })
        .collect()
}

/// `decide`, with the Schedules already evaluated.
pub fn decide_with(
    desired: &Desired,
    service: &DesiredService,
    evaluations: &BTreeMap<String, Evaluation>,
) -> Capacity {
    let schedule = service.schedule.as_deref().and_then(|name| {
        let spec = &desired.schedules.get(name)?.doc.spec;
        let eval = evaluations.get(name)?.clone();
        Some((name.to_owned(), eval, spec.inactive_desired_count()))
    });
    let autoscaler = service
        .autoscaler
        .as_deref()
        .and_then(|name| desired.autoscalers.get(name).map(|a| (name, &a.doc.spec)));
    let by_schedule = |name: &str| DocRef::new(Kind::Schedule, name);
    match (&schedule, autoscaler) {
        (Some((name, eval, inactive)), autoscaler) if !eval.is_active() => Capacity {
            desired_count: Some(Decided {
                value: *inactive,
                by: by_schedule(name),
            }),
            bounds: autoscaler.map(|_| Decided {
                value: (*inactive, *inactive),
                by: by_schedule(name),
            }),
            schedule: schedule.map(|(n, e, _)| (n, e)),
        },
        (_, Some((name, spec))) => Capacity {
            desired_count: None,
            bounds: Some(Decided {
                value: (spec.min_capacity, spec.max_capacity),
                by: DocRef::new(Kind::Autoscaler, name),
            }),
            schedule: schedule.map(|(n, e, _)| (n, e)),
        },
        (_, None) => Capacity {
            desired_count: Some(Decided {
                value: service.desired_count,
                by: DocRef::new(Kind::Service, &service.name),
            }),
            bounds: None,
            schedule: schedule.map(|(n, e, _)| (n, e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Source;

    fn desired(extra: &str) -> Desired {
        let text = format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {{name: worker}}\nspec: {{cluster: c, taskDefinition: w, desiredCount: 3}}\n{extra}"
        );
        let source = Source {
            files: vec![("d.yaml".to_owned(), text)],
            revision: "r".to_owned(),
        };
        Desired::from_source(&source).unwrap_or_else(|d| panic!("{d}"))
    }

    const AUTOSCALER: &str = "---\napiVersion: ecs-operator/v1alpha1\nkind: Autoscaler\nmetadata: {name: worker}\nspec: {serviceRef: worker, minCapacity: 1, maxCapacity: 10}\n";
    const SCHEDULE: &str = "---\napiVersion: ecs-operator/v1alpha1\nkind: Schedule\nmetadata: {name: hours}\nspec:\n  serviceRefs: [worker]\n  timezone: UTC\n  activeWindows: [{days: [Mon-Fri], start: \"08:00\", end: \"18:00\"}]\n";
    const SATURDAY: &str = "2026-11-28T12:00:00Z";
    const MONDAY: &str = "2026-11-30T08:00:00Z";

    fn at(d: &Desired, t: &str) -> Capacity {
        decide(d, &d.services["worker"], t.parse().expect("instant"))
    }

    #[test]
    fn a_plain_service_decides_its_own_count() {
        let c = at(&desired(""), SATURDAY);
        assert_eq!(
            c.desired_count.map(|d| (d.value, d.by.to_string())),
            Some((3, "Service/worker".to_owned()))
        );
        assert!(c.bounds.is_none());
    }

    #[test]
    fn an_autoscaler_owns_the_count_and_decides_the_bounds() {
        let c = at(&desired(AUTOSCALER), SATURDAY);
        assert!(c.desired_count.is_none());
        assert_eq!(
            c.bounds.map(|b| (b.value, b.by.to_string())),
            Some(((1, 10), "Autoscaler/worker".to_owned()))
        );
    }

    #[test]
    fn an_inactive_schedule_pins_count_and_bounds_to_zero() {
        let d = desired(&format!("{AUTOSCALER}{SCHEDULE}"));
        let c = at(&d, SATURDAY);
        assert_eq!(c.desired_count.map(|d| d.value), Some(0));
        assert_eq!(
            c.bounds.map(|b| (b.value, b.by.to_string())),
            Some(((0, 0), "Schedule/hours".to_owned()))
        );
        let monday = at(&d, MONDAY);
        assert!(monday.desired_count.is_none());
        assert_eq!(monday.bounds.map(|b| b.value), Some((1, 10)));
    }

    #[test]
    fn an_active_schedule_without_autoscaler_restores_the_service_count() {
        let d = desired(SCHEDULE);
        assert_eq!(at(&d, SATURDAY).desired_count.map(|d| d.value), Some(0));
        assert_eq!(at(&d, MONDAY).desired_count.map(|d| d.value), Some(3));
    }
}
