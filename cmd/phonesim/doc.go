// Command phonesim simulates a fleet of factory-default Grandstream
// GXP2130/2140/2160 phones doing SIP Plug-and-Play against pnpbox, for the
// demo, end-to-end tests and benchmarks.
//
// Each simulated phone, concurrently with the others:
//
//  1. boots: sends the multicast SUBSCRIBE a Grandstream sends (header set and
//     order copied from a captured GRP2612W, reference/grandstream-pnp.md §3.1)
//     up to -tries times, -interval apart, stopping on 200 or 500;
//  2. waits for the box's NOTIFY on its SIP socket and answers it (200 only for
//     Event ua-profile, Content-Type application/url, a Call-ID it used and its
//     own From tag; else 489, 415 or 481);
//  3. downloads the URL in the NOTIFY body from its own address with a
//     Grandstream User-Agent and checks the gs_provision XML;
//  4. "reboots" after -reboot: beacons again with a new Call-ID, downloads
//     http://<P237>/cfg<mac>.xml and checks it is byte-identical to the first;
//  5. counts any further NOTIFY (a provisioned phone must not get another).
//
// It prints one line per phone and "phonesim: N/M phones provisioned" (or a
// JSON object with -json) when every phone is done, when -timeout expires or
// on SIGINT/SIGTERM.
//
// In a network namespace (root), as `make demo` and the e2e tests use it, with
// 198.18.0.100-149 already on veth-phones:
//
//	phonesim -iface veth-phones -first-ip 198.18.0.100 -n 50
//
// On loopback without root, against a box listening on 127.0.0.1:5060 (Linux
// routes all of 127/8 to lo, so every phone gets its own address):
//
//	phonesim -target 127.0.0.1:5060 -first-ip 127.0.0.2 -port 0 -n 10
//
// Exit status, after SIPp's, so a script can gate on it: 0 when every phone
// reached the -expect outcome (default provisioned; notified, answered or
// none ask less), 1 when the report is printed but some phone did not
// (-timeout expired, a NOTIFY never came, a download failed), 2 on a bad
// flag, 3 when the fleet cannot be set up (an address that cannot be bound),
// 130 when interrupted by a signal (the report is still printed). -version
// prints the version.
package main
