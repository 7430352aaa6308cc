#include "adapters/edge/host_options.h"

namespace fxsettle::adapters::edge {
namespace {

TlsSpec tls_spec(const std::optional<config::TlsConfig>& tls, bool require_peer_cert) {
    TlsSpec spec;
    if (!tls)
        return spec;
    spec.enabled = true;
    spec.cert = tls->cert;
    spec.key = tls->key;
    spec.ca = tls->ca;
    spec.require_peer_cert = require_peer_cert;
    return spec;
}

HostOptions base(HostRole role, const HostFiles& files) {
    HostOptions o;
    o.role = role;
    o.dictionary_path = files.dictionary_path;
    o.store_path = files.store_path;
    o.log_dir = files.log_dir;
    return o;
}

}  // namespace

HostOptions gateway_host_options(const config::Config& config, const HostFiles& files) {
    HostOptions o = base(HostRole::kAcceptor, files);
    o.bind_address = config.gateway.listen.host;
    o.listen_port = config.gateway.listen.port;
    o.unauthenticated_connections_max = config.gateway.unauthenticated_connections_max;
    o.logon_deadline = config.gateway.logon_deadline_s;
    const bool mutual = config.gateway.tls && config.gateway.tls->require_client_cert;
    for (const config::PspConfig& psp : config.psps) {
        SessionSpec s;
        s.key = SessionKey{config.gateway.sender_comp_id, psp.sender_comp_id};
        s.heartbeat = config.gateway.heartbeat_s;
        s.tls = tls_spec(config.gateway.tls, mutual);
        o.sessions.push_back(std::move(s));
    }
    return o;
}

HostOptions venue_host_options(const config::Config& config, const HostFiles& files) {
    HostOptions o = base(HostRole::kInitiator, files);
    for (const config::VenueConfig& v : config.venues) {
        SessionSpec s;
        s.key = SessionKey{v.sender_comp_id, v.target_comp_id};
        s.connect_host = v.host;
        s.connect_port = v.port;
        s.heartbeat = v.heartbeat_s;
        s.reconnect_interval = v.reconnect_interval_s;
        s.tls = tls_spec(v.tls, false);
        o.sessions.push_back(std::move(s));
    }
    return o;
}

HostOptions bank_host_options(const config::Config& config, const HostFiles& files) {
    HostOptions o = base(HostRole::kInitiator, files);
    for (const config::BankConfig& b : config.banks) {
        SessionSpec s;
        s.key = SessionKey{b.sender_comp_id, b.target_comp_id};
        s.connect_host = b.host;
        s.connect_port = b.port;
        s.heartbeat = b.heartbeat_s;
        s.reconnect_interval = b.reconnect_interval_s;
        s.tls = tls_spec(b.tls, false);
        o.sessions.push_back(std::move(s));
    }
    return o;
}

}  // namespace fxsettle::adapters::edge
