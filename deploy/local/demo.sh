#!/usr/bin/env bash
# make demo: builds a small network of namespaces on this host, attaches an
# egress router to a "pod" with cnitool through the real chain (upstream
# macvlan + static, then egress-route and egress-nat), and shows a client's
# connections arriving at external servers from the reserved source IP.
# Everything happens in namespaces named egress-demo-*, removed at the end.
set -euo pipefail
BIN=${1:?usage: demo.sh BIN_DIR}
P=egress-demo-
WORK=$(mktemp -d)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_ns() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
cleanup() {
  in_ns node env CNI_PATH="$BIN" NETCONFPATH="$WORK" \
    "$BIN/cnitool" del egress-router /var/run/netns/${P}router -i net1 >/dev/null 2>&1 || true
  in_ns node env CNI_PATH="$BIN" NETCONFPATH="$WORK/single" \
    "$BIN/cnitool" del egress-router-single /var/run/netns/${P}router -i net1 >/dev/null 2>&1 || true
  "$BIN/topo" down "$P" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"$BIN/topo" down "$P" 2>/dev/null || true
# A node policy of the demo's own, so its logs and lock files go into
# $WORK and leave with it (a node's admin ships the real one).
printf '{"logDir": "%s/log", "lockDir": "%s/lock"}\n' "$WORK" "$WORK" > "$WORK/policy.json"
export EGRESS_ROUTER_POLICY="$WORK/policy.json"

say "Test network: node, router pod, client pod, external gateway and a server beyond it"
"$BIN/topo" up "$P"
ip netns list | grep "^$P" | sed 's/ (id.*//'

cat > "$WORK/egress-router.conflist" <<'JSON'
{"cniVersion": "1.1.0", "name": "egress-router", "plugins": [
  {"type": "macvlan", "master": "ext0", "mode": "bridge",
   "ipam": {"type": "static", "addresses": [{"address": "192.168.12.99/24", "gateway": "192.168.12.1"}]}},
  {"type": "egress-route", "clusterCIDRs": ["10.128.0.0/14"], "serviceCIDRs": ["172.30.0.0/16"]},
  {"type": "egress-nat", "destinations": ["80 tcp 203.0.113.5 8080", "5353 udp 203.0.113.5", "192.168.12.91/32"]}
]}
JSON
say "Conflist (macvlan + static -> egress-route -> egress-nat)"
cat "$WORK/egress-router.conflist"

say "cnitool add egress-router (run in the node namespace, like a runtime)"
in_ns node env CNI_PATH="$BIN" NETCONFPATH="$WORK" \
  "$BIN/cnitool" add egress-router /var/run/netns/${P}router -i net1

say "Router pod: ip route"
in_ns router ip route
say "Router pod: ip route show table 17746 (the cluster default route, kept for DEL)"
in_ns router ip route show table 17746
say "Router pod: nft list ruleset (the NAT backend auto picks nftables in a fresh pod; \"backend\": \"iptables\" for iptables)"
in_ns router nft list ruleset

say "Client pod (10.130.0.5) connects to the router pod's cluster address 10.129.2.31"
in_ns far "$BIN/peerecho" serve tcp 203.0.113.5:8080 & s1=$!
in_ns far "$BIN/peerecho" serve udp 203.0.113.5:5353 & s2=$!
in_ns ext "$BIN/peerecho" serve tcp 192.168.12.91:443 & s3=$!
sleep 0.3
in_ns client "$BIN/peerecho" ask tcp 10.129.2.31:80
in_ns client "$BIN/peerecho" ask udp 10.129.2.31:5353
in_ns client "$BIN/peerecho" ask tcp 10.129.2.31:443
wait $s1 $s2 $s3

say "cnitool check, then del"
in_ns node env CNI_PATH="$BIN" NETCONFPATH="$WORK" \
  "$BIN/cnitool" check egress-router /var/run/netns/${P}router -i net1 && echo "check: ok"
in_ns node env CNI_PATH="$BIN" NETCONFPATH="$WORK" \
  "$BIN/cnitool" del egress-router /var/run/netns/${P}router -i net1 && echo "del: ok"
say "Router pod after DEL: ip route"
in_ns router ip route

# The same router as one egress-router plugin config, the shape existing
# NADs carry (the operator's fields; master and gateway left to inference).
mkdir -p "$WORK/single"
cat > "$WORK/single/egress-router.conf" <<'JSON'
{ "cniVersion": "1.1.0", "type": "egress-router", "name": "egress-router-single",
  "ip": { "addresses": [ "192.168.12.99/24" ],
          "destinations": ["80 TCP 203.0.113.5 8080", "5353 UDP 203.0.113.5"],
          "fallbackIP": "192.168.12.91" },
  "clusterCIDRs": ["10.128.0.0/14"], "serviceCIDRs": ["172.30.0.0/16"] }
JSON
say "Single-plugin form: egress-chain dry-run (run on the node: master and gateway inferred, nothing changed)"
cat "$WORK/single/egress-router.conf"
in_ns node "$BIN/egress-chain" dry-run "$WORK/single/egress-router.conf"

say "cnitool add egress-router-single (the egress-router meta-plugin runs macvlan + static through DelegateAdd)"
in_ns node env CNI_PATH="$BIN" NETCONFPATH="$WORK/single" \
  "$BIN/cnitool" add egress-router-single /var/run/netns/${P}router -i net1
echo
in_ns far "$BIN/peerecho" serve tcp 203.0.113.5:8080 & s1=$!
in_ns ext "$BIN/peerecho" serve tcp 192.168.12.91:443 & s3=$!
sleep 0.3
in_ns client "$BIN/peerecho" ask tcp 10.129.2.31:80
in_ns client "$BIN/peerecho" ask tcp 10.129.2.31:443
wait $s1 $s3
in_ns node env CNI_PATH="$BIN" NETCONFPATH="$WORK/single" \
  "$BIN/cnitool" check egress-router-single /var/run/netns/${P}router -i net1 && echo "check: ok"
in_ns node env CNI_PATH="$BIN" NETCONFPATH="$WORK/single" \
  "$BIN/cnitool" del egress-router-single /var/run/netns/${P}router -i net1 && echo "del: ok"
echo
echo "The external servers saw every connection from the reserved source 192.168.12.99, in both forms."
