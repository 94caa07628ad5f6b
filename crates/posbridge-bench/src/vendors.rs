//! The vendors the benchmarks drive: every vendor in the facade's registry
//! (`posbridge::vendors()`) whose descriptor has a bench hook
//! ([`posbridge_core::descriptor::BenchHook`]). A scenario picks its vendors by what
//! their hooks and capabilities declare, never by name; adding a vendor with a hook
//! adds it to every scenario it fits.

use anyhow::Result;
use posbridge_core::VendorDescriptor;
use posbridge_core::descriptor::{BenchAnswer, BenchClient, BenchHook, BenchRoute, BenchSetup};

use crate::fixture;

/// A vendor as the benchmarks drive it: its descriptor and its bench hook.
#[derive(Debug, Clone, Copy)]
pub struct Vendor {
    /// What the registry knows of the vendor.
    pub descriptor: &'static VendorDescriptor,
    /// What the benchmarks need of it.
    pub hook: &'static BenchHook,
}

impl Vendor {
    /// The short name (`cloudma`): the minimal server's and the sandbox's path prefix.
    pub fn name(&self) -> &'static str {
        self.descriptor.name()
    }

    /// The name as the vendor writes it, for the table.
    pub fn display_name(&self) -> &'static str {
        self.descriptor.display_name()
    }

    /// The vendor's path prefix on the minimal server: `/<name>/`.
    pub fn prefix(&self) -> String {
        format!("/{}/", self.name())
    }

    /// The path of `route` on the minimal server: `/<name>/<path>`.
    pub fn route_path(&self, route: &BenchRoute) -> String {
        format!("/{}/{}", self.name(), route.path)
    }

    /// The vendor's bench client for the server at `base_url`, the benchmark sale's
    /// products mapped. No request is sent.
    pub fn client(&self, base_url: &str) -> Result<Box<dyn BenchClient>> {
        let products = fixture::products();
        let setup = BenchSetup {
            base_url,
            products: &products,
            http: fixture::http(),
        };
        Ok(self.hook.client(&setup)?)
    }

    /// The route of a push that is one request (no login first) answered with a fixed
    /// body: the per-call scenario's vendors, and those the outbox and sandbox
    /// scenarios pick from.
    pub fn single_push(&self) -> Option<&'static BenchRoute> {
        let push = self.hook.push()?;
        (self.hook.login().is_none() && matches!(push.answer, BenchAnswer::Fixed { .. })).then_some(push)
    }
}

/// Every vendor with a bench hook, in the registry's order.
pub fn all() -> Vec<Vendor> {
    posbridge::vendors()
        .iter()
        .filter_map(|d| d.bench().map(|hook| Vendor { descriptor: d, hook }))
        .collect()
}

/// The vendor named `name`, for the child processes (which get the name from their
/// parent).
pub fn named(name: &str) -> Result<Vendor> {
    all()
        .into_iter()
        .find(|v| v.name() == name)
        .ok_or_else(|| anyhow::anyhow!("no vendor {name:?} with a bench hook in the registry"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_vendor_has_a_bench_hook_and_a_client() {
        let vendors = all();
        assert_eq!(
            vendors.len(),
            posbridge::vendors().len(),
            "a vendor without a bench hook"
        );
        for v in vendors {
            let client = v.client("http://127.0.0.1:9/").unwrap();
            assert_eq!(client.connector().vendor(), v.name());
        }
    }
}
