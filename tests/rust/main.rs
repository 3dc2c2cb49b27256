//! The core's own tests: no Python involved. One module per concern.

mod support;

mod cache;
mod calls;
mod compression;
mod confine;
mod domain;
mod encoding;
mod faults;
mod fuzz;
mod host;
mod intl;
mod js;
mod layers;
mod pool;
mod protocol;
mod subtle;
mod time;
mod typescript;
mod urlpattern;
