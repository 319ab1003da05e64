// Package appliance holds the domain types every part of pnpbox shares:
// MAC addresses, phones and their provisioning states, assignments, site
// settings and events. It does no I/O and imports nothing of pnpbox.
//
// The subpackages do the work: pnp speaks SIP Plug-and-Play, store persists,
// profile renders vendor configs, provision coordinates, web serves HTTP and
// panel drives the LED and button.
package appliance
