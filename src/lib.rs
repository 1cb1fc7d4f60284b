#![forbid(unsafe_code)]
pub mod apply;
pub mod aws;
pub mod desired;
pub mod load;
pub mod metrics;
pub mod model;
pub mod observe;
pub mod observed;
pub mod plan;
pub mod cli;
pub mod commands;
pub mod controller;
pub mod crds;
