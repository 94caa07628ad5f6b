//! The registry: one line per vendor crate. It re-exports the crate as a module named
//! like its feature and lists its [`VendorDescriptor`](crate::VendorDescriptor) in
//! [`vendors()`](crate::vendors). `cargo xtask new-vendor NAME` adds the line (and the
//! feature in this crate's `Cargo.toml`).

/// `"feature", module => crate;` for each vendor: `pub use crate as module` under the
/// feature, and the crate's `DESCRIPTOR` in [`VENDORS`].
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
    };
}

registry! {
    "asalta", asalta => posbridge_asalta;
    "cloudma", cloudma => posbridge_cloudma;
    "codemax", codemax => posbridge_codemax;
    "easpro", easpro => posbridge_easpro;
    "salesmania", salesmania => posbridge_salesmania;
}
