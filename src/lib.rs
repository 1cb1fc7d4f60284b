//! ecs-operator: keeps an AWS ECS estate equal to a committed desired-state document.
//!
//! ```text
//! desired docs ──load (located errors)──▶ Desired ─┐
//!                                                  ├─▶ plan(desired, observed, now) ─▶ Plan ─▶ apply ─▶ Outcome
//! AWS ──observe (batched reads)──────────▶ Observed┘        pure, sync                 writes     status, metrics
//! ```
//!
//! Kinds, in reconcile order (a failed dependency defers its dependents):
//!
//! ```text
//! AlertChannel ─▶ DiscoveryService ─▶ TaskDefinition ─▶ Service ─▶ Autoscaler / Schedule ─▶ Alarm ─▶ ServiceLevelObjective
//!  (SNS)           (Cloud Map)         (ECS revisions)    (ECS)      (App Auto Scaling)       (CloudWatch) (burn rates → SNS)
//! ```
//!
//! Every kind but `ServiceLevelObjective` is planned and applied;
//! `ServiceLevelObjective` is evaluated beside the loop (`slo`, `controller`)
//! and pages through the notifier.
#![forbid(unsafe_code)]

pub mod apply;
pub mod aws;
pub mod ca_bundle;
pub mod capacity;
pub mod cli;
pub mod commands;
pub mod controller;
pub mod crds;
pub mod deploy_wait;
pub mod desired;
pub mod events;
pub mod import;
pub mod lease;
pub mod load;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod observe;
pub mod observed;
pub mod plan;
pub mod slo;
pub mod watch;
