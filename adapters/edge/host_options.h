// The SessionHost options of the gateway (acceptor), the venues and the banks
// (initiators) as the config states them, for the daemon and the tests (which then point
// ports at their own loopback listeners).
#pragma once

#include <string>

#include "adapters/fix/session_host.h"
#include "config/config.h"

namespace fxsettle::adapters::edge {

struct HostFiles {
    std::string dictionary_path;  // config/fix/FIX44-fxsettle.xml
    std::string store_path;       // the LMDB message store of this host
    std::string log_dir;          // QuickFIX logs; empty: none
};

// The acceptor: listen on gateway.listen; one session per PSP, {gateway.sender_comp_id,
// psp.sender_comp_id}, heartbeat gateway.heartbeat_s; TLS from [gateway.tls].
HostOptions gateway_host_options(const config::Config& config, const HostFiles& files);
// One initiator session per venue: {sender_comp_id, target_comp_id} to host:port.
HostOptions venue_host_options(const config::Config& config, const HostFiles& files);
// One initiator session per bank.
HostOptions bank_host_options(const config::Config& config, const HostFiles& files);

}  // namespace fxsettle::adapters::edge
