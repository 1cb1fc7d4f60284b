//! Capacity: who decides a service's desiredCount and its scalable target's
//! bounds at an instant — the Service, its Autoscaler or its Schedule (SPEC §2.3).

pub mod schedule;
