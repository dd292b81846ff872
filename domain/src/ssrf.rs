//! The SSRF guard. Every delivery's destination is checked *after* DNS resolution, and the
//! connection is made to the checked address (the resolver hands reqwest only addresses that
//! passed), so a DNS answer that changes between check and connect cannot slip through.
//! Private, loopback, link-local, CGNAT, metadata and other special ranges are refused unless
//! an operator allow-lists them with `HOOKLINE_ALLOWED_NETWORKS`.
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct SsrfGuard {
    allowed: Vec<IpNet>,
}

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("destination {ip} is refused: {reason} (allow it with HOOKLINE_ALLOWED_NETWORKS)")]
pub struct Blocked {
    pub ip: IpAddr,
    pub reason: &'static str,
}

/// Errors our resolver gives reqwest; the delivery engine finds them in the error chain to tell
/// `E_DNS` from `E_SSRF`.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("DNS lookup of {host} failed: {source}")]
    Dns { host: String, source: std::io::Error },
    #[error("DNS lookup of {0} returned no addresses")]
    NoAddresses(String),
    #[error(transparent)]
    Blocked(#[from] Blocked),
}

impl SsrfGuard {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    /// Parses a comma-separated CIDR list such as `127.0.0.0/8,::1/128`. Bare addresses are
    /// taken as single hosts.
    pub fn parse_allowed(list: &str) -> Result<Vec<IpNet>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("'{s}' is not a CIDR network such as 10.0.0.0/8"))
            })
            .collect()
    }

    /// The guard's decision for one resolved address.
    pub fn check(&self, ip: IpAddr) -> Result<(), Blocked> {
        let ip = canonical(ip);
        if self.allowed.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        match forbidden_reason(ip) {
            Some(reason) => Err(Blocked { ip, reason }),
            None => Ok(()),
        }
    }
}

/// IPv6 addresses that carry an IPv4 address are judged as that address: IPv4-mapped, NAT64
/// (64:ff9b::/96) and 6to4 (2002::/16, whose relays would forward to the embedded IPv4
/// address).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            let o = v6.octets();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            if s[0] == 0x2002 {
                return IpAddr::V4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    let reason = match o {
        [169, 254, 169, 254] => "cloud metadata address",
        [127, ..] => "loopback address",
        [0, ..] => "unspecified/this-network address",
        [10, ..] => "private network (10.0.0.0/8)",
        [172, b, ..] if (16..=31).contains(&b) => "private network (172.16.0.0/12)",
        [192, 168, ..] => "private network (192.168.0.0/16)",
        [100, b, ..] if (64..=127).contains(&b) => "carrier-grade NAT (100.64.0.0/10)",
        [169, 254, ..] => "link-local address",
        [192, 0, 0, _] => "IETF protocol assignment (192.0.0.0/24)",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "documentation range",
        [192, 88, 99, _] => "deprecated 6to4 relay anycast (192.88.99.0/24)",
        [198, 18..=19, ..] => "benchmarking range (198.18.0.0/15)",
        [a, ..] if a >= 224 => "multicast, reserved or broadcast address",
        _ => return None,
    };
    Some(reason)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let reason = if ip.is_loopback() {
        "loopback address"
    } else if ip.is_unspecified() {
        "unspecified address"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "unique-local address (fc00::/7)"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local address"
    } else if s[0..3] == [0x64, 0xff9b, 1] {
        // where the IPv4 address sits depends on the local translator's prefix length
        "local-use NAT64 (64:ff9b:1::/48)"
    } else if s[0] & 0xffc0 == 0xfec0 {
        "site-local address (fec0::/10, deprecated)"
    } else if s[0] & 0xff00 == 0xff00 {
        "multicast address"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "documentation range"
    } else if s[0..5] == [0, 0, 0, 0, 0] {
        "IPv4-compatible or reserved address"
    } else {
        return None;
    };
    Some(reason)
}

/// A reqwest resolver that resolves with the system resolver and returns only addresses that
/// pass the guard, so reqwest connects to exactly what was checked.
#[derive(Clone)]
pub struct GuardedResolver {
    pub guard: Arc<SsrfGuard>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|source| ResolveError::Dns {
                    host: host.clone(),
                    source,
                })?
                .collect();
            if addrs.is_empty() {
                return Err(ResolveError::NoAddresses(host).into());
            }
            let mut first_block = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match guard.check(a.ip()) {
                    Ok(()) => true,
                    Err(b) => {
                        first_block.get_or_insert(b);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), first_block) {
                (true, Some(b)) => Err(ResolveError::Blocked(b).into()),
                _ => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

/// For URLs whose host is an IP literal (which bypass DNS): the guard's decision, after the URL
/// parser has normalised forms such as `127.1`, `2130706433` or `[::ffff:127.0.0.1]`.
pub fn check_literal_host(guard: &SsrfGuard, url: &url::Url) -> Result<(), Blocked> {
    match url.host() {
        Some(url::Host::Ipv4(v4)) => guard.check(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => guard.check(IpAddr::V6(v6)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(guard: &SsrfGuard, s: &str) -> bool {
        guard.check(s.parse().unwrap()).is_err()
    }

    #[test]
    fn refuses_private_loopback_link_local_cgnat_and_metadata_ranges() {
        let g = SsrfGuard::default();
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "64:ff9b:1:0:a:0:100:0",
            "2002:a00:1::1",
            "2002:7f00:1::",
            "fec0::1",
            "192.88.99.1",
            "198.18.0.1",
        ] {
            assert!(blocked(&g, ip), "{ip} should be refused");
        }
    }

    #[test]
    fn allows_public_addresses() {
        let g = SsrfGuard::default();
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "2002:5db8:d822::1",
            "64:ff9b::101:101",
        ] {
            assert!(!blocked(&g, ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn allow_list_exempts_networks() {
        let g = SsrfGuard::new(SsrfGuard::parse_allowed("127.0.0.0/8, ::1").unwrap());
        assert!(!blocked(&g, "127.0.0.1"));
        assert!(!blocked(&g, "::1"));
        assert!(!blocked(&g, "::ffff:127.0.0.1"));
        assert!(blocked(&g, "10.0.0.1"));
        assert!(SsrfGuard::parse_allowed("10.0.0.0/33").is_err());
    }

    #[test]
    fn literal_hosts_are_normalised_before_the_decision() {
        let g = SsrfGuard::default();
        for u in [
            "http://127.1/",
            "http://2130706433/",
            "http://[::ffff:127.0.0.1]/",
            "http://0x7f.1/",
            "http://[::1]:80/",
        ] {
            let url = url::Url::parse(u).unwrap();
            assert!(check_literal_host(&g, &url).is_err(), "{u} should be refused");
        }
        let named = url::Url::parse("http://localhost/").unwrap();
        assert!(
            check_literal_host(&g, &named).is_ok(),
            "names are judged after resolution"
        );
    }
}
