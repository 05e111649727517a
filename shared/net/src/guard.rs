//! The one guard for user-controlled URLs: private, loopback, link-local (the cloud metadata
//! address among them), CGNAT, ULA, multicast and reserved addresses are refused unless the
//! operator allows them (`ALLOW_PRIVATE_NETWORK_URLS`). It checks every address a host name
//! resolves to, at connection time, inside the HTTP client's resolver, so a name that resolves
//! to a public address when configured and to a private one later cannot slip past.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Why an address may not be contacted, or `None` when it may.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "\"this\" network",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "private",
        (100, 64..=127, _) => "carrier-grade NAT",
        (127, _, _) => "loopback",
        (169, 254, _) => "link-local (cloud metadata)",
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "reserved",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [_, _, _, _, _, _, hi, lo] = s;
        return forbidden_v4(Ipv4Addr::from(((hi as u32) << 16) | lo as u32));
    }
    Some(match s[0] {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        0xfc00..=0xfdff => "unique local",
        0xfe80..=0xfebf => "link-local",
        0xff00..=0xffff => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x0100 if s[1..4] == [0, 0, 0] => "discard",
        0 => "reserved",
        _ => return None,
    })
}

/// Why a host may not be contacted: it has no address now (which may pass), or an address the
/// guard refuses (which will not).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("{0}")]
    Unresolved(String),
    #[error(transparent)]
    Refused(Refused),
}

/// The error a refused address produces inside the HTTP client, recognisable in its source chain.
#[derive(Debug, thiserror::Error)]
#[error(
    "{host} resolves to {ip}, a {reason} address; set ALLOW_PRIVATE_NETWORK_URLS=true to allow it"
)]
pub struct Refused {
    pub host: String,
    pub ip: IpAddr,
    pub reason: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct UrlGuard {
    pub allow_private: bool,
}

impl UrlGuard {
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    fn check(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        match forbidden_reason(ip) {
            Some(reason) if !self.allow_private => Err(Refused {
                host: host.to_string(),
                ip,
                reason,
            }),
            _ => Ok(()),
        }
    }

    /// A URL whose host is an IP literal never reaches the resolver, so it is checked here.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refused> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        self.check(&ip.to_string(), ip)
    }

    /// Resolves `host` and checks every address it has, for a client that resolves on its own
    /// (SMTP). The client resolves again when it connects, so a name that changes its address
    /// within that moment is not caught here; HTTP clients resolve through the guard itself.
    pub async fn check_host(&self, host: &str, port: u16) -> Result<(), HostError> {
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            return self.check(host, ip).map_err(HostError::Refused);
        }
        let addrs = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| HostError::Unresolved(format!("cannot resolve {host}: {e}")))?;
        for addr in addrs {
            self.check(host, addr.ip()).map_err(HostError::Refused)?;
        }
        Ok(())
    }

    /// An HTTP client that resolves through the guard and follows no redirects (a redirect
    /// could lead anywhere).
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(*self))
            .redirect(reqwest::redirect::Policy::none())
    }

    /// Finds whether a refusal is behind an HTTP client error.
    pub fn refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
        let mut current = Some(error);
        while let Some(e) = current {
            if let Some(r) = e.downcast_ref::<Refused>() {
                return Some(r);
            }
            current = e.source();
        }
        None
    }
}

impl Resolve for UrlGuard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = *self;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                guard.check(&host, addr.ip())?;
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> Option<&'static str> {
        forbidden_reason(s.parse().expect("ip"))
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(reason(ip).is_some(), "{ip} should be refused");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(reason(ip), None, "{ip} should be allowed");
        }
    }

    #[test]
    fn literal_urls_are_checked_and_the_operator_can_allow_them() {
        let url = url::Url::parse("http://169.254.169.254/latest/meta-data").expect("url");
        assert!(UrlGuard::new(false).check_url(&url).is_err());
        assert!(UrlGuard::new(true).check_url(&url).is_ok());
        let named = url::Url::parse("https://api.openai.com/v1").expect("url");
        assert!(
            UrlGuard::new(false).check_url(&named).is_ok(),
            "names are checked when resolved"
        );
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_loopback() {
        let guard = UrlGuard::new(false);
        let result = guard
            .resolve("localhost".parse::<Name>().expect("name"))
            .await;
        let err = result.err().expect("refused");
        assert!(UrlGuard::refusal(err.as_ref()).is_some(), "{err}");
        assert!(
            UrlGuard::new(true)
                .resolve("localhost".parse::<Name>().expect("name"))
                .await
                .is_ok()
        );
    }
}
