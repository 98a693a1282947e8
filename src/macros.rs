//! Macros the middleware services share.

/// `get_ref`, `get_mut` and `into_inner` for a middleware service whose inner service is
/// its `inner` field, as tower-http's services have them.
macro_rules! inner_service_accessors {
    () => {
        /// The inner service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The inner service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// The inner service, without the middleware.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}
