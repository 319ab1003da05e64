// Package web is the box's HTTP side: the provisioning files phones fetch
// from their secret folders (/p/<token>/…), the JSON API the status page
// and installers' tools use (/api/…, HTTP Basic auth as admin), the status
// page itself, and /healthz.
//
// openapi.yaml describes every route, its answers and the rules shared by
// all (login, throttling, errors, 404 and 405); the package's tests check
// every answer they receive against it.
package web
