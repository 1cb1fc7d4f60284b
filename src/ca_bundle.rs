//! The CA certificates HTTPS to AWS is verified with, counted at start-up: an
//! image without a bundle says so at once instead of failing every call.

/// How many CA certificates the system offers (`SSL_CERT_FILE`,
/// `SSL_CERT_DIR`, or the usual places such as `/etc/ssl/certs`), as the AWS
/// SDK's HTTPS client loads them.
pub fn certificates() -> usize {
    rustls_native_certs::load_native_certs().certs.len()
}

/// Whether calls go over HTTPS: not when `AWS_ENDPOINT_URL` is a plain-HTTP
/// emulator on loopback.
pub fn needed() -> bool {
    !std::env::var("AWS_ENDPOINT_URL").is_ok_and(|u| u.starts_with("http://"))
}
