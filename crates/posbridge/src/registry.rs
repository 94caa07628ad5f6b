//! The registry: one line per vendor crate. It re-exports the crate as a module named
//! like its feature, lists its [`VendorDescriptor`](crate::VendorDescriptor) in
//! [`vendors()`](crate::vendors), and (feature `sandbox`) its sandbox imitation in
//! `sandbox_imitations()`. `cargo xtask new-vendor NAME` adds the line (and, in this
//! crate's `Cargo.toml`, the feature and the vendor's entry in the `sandbox` feature).

/// `"feature", module => crate;` for each vendor: `pub use crate as module` under the
/// feature, the crate's `DESCRIPTOR` in [`VENDORS`], and (feature `sandbox`) the
/// crate's `sandbox::imitation()` in `sandbox_imitations()`.
macro_rules! registry {
    ($($feature:literal, $module:ident => $krate:ident;)*) => {
        $(
            #[doc = concat!("The `", $feature, "` connector (feature `", $feature, "`).")]
            #[cfg(feature = $feature)]
            pub use $krate as $module;
        )*

        /// The descriptors of the vendors compiled in.
        pub(crate) static VENDORS: &[&posbridge_core::VendorDescriptor] = &[
            $(
                #[cfg(feature = $feature)]
                &$krate::DESCRIPTOR,
            )*
        ];

        /// The sandbox's imitation of every vendor compiled in (feature `sandbox`), in
        /// registry order: what [`sandbox::Sandbox::start`](crate::sandbox::Sandbox::start)
        /// serves.
        ///
        /// ```no_run
        /// # async fn demo() -> Result<(), posbridge::sandbox::SandboxError> {
        /// let sandbox = posbridge::sandbox::Sandbox::start(Default::default(), posbridge::sandbox_imitations()).await?;
        /// for vendor in posbridge::vendors() {
        ///     // A connector pointed at the sandbox, with the credentials it accepts.
        ///     if let Some(section) = sandbox.connector_section(vendor.name()) {
        ///         let _connector = vendor.connect(section);
        ///     }
        /// }
        /// # Ok(()) }
        /// ```
        #[cfg(feature = "sandbox")]
        pub fn sandbox_imitations() -> Vec<Box<dyn posbridge_sandbox::VendorImitation>> {
            vec![
                $(
                    #[cfg(feature = $feature)]
                    $krate::sandbox::imitation(),
                )*
            ]
        }
    };
}

registry! {
    "asalta", asalta => posbridge_asalta;
    "cloudma", cloudma => posbridge_cloudma;
    "codemax", codemax => posbridge_codemax;
    "easpro", easpro => posbridge_easpro;
    "salesmania", salesmania => posbridge_salesmania;
}

#[cfg(all(test, feature = "sandbox"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The registry's one line per vendor gives the sandbox its imitation too: each
    /// vendor compiled in is imitated, has its documents, and a connector built from
    /// its imitation's section connects.
    #[tokio::test]
    async fn the_sandbox_imitates_every_vendor_compiled_in() {
        let sandbox = posbridge_sandbox::Sandbox::start(Default::default(), super::sandbox_imitations())
            .await
            .unwrap();
        let names: Vec<&str> = crate::vendors().iter().map(|v| v.name()).collect();
        assert_eq!(sandbox.vendors(), names);
        let documents: Vec<String> = sandbox.state().documents.into_keys().collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(documents, sorted);
        for vendor in crate::vendors() {
            let section = sandbox.connector_section(vendor.name()).unwrap();
            assert_eq!(
                section["base_url"],
                sandbox.vendor_url(vendor.name()),
                "{}",
                vendor.name()
            );
            let connector = vendor.connect(section).unwrap();
            assert_eq!(connector.vendor(), vendor.name());
        }
        sandbox.shutdown().await;
    }
}
