################################################################################
#
# pnpd
#
################################################################################

# scripts/image.sh stages the checkout here (tracked files, vendor/ from
# `go mod vendor`, VERSION from `git describe`) before it runs Buildroot:
# a local site has no download step, so nothing would vendor it later, and
# host-go builds with GOFLAGS=-mod=vendor GOPROXY=off.
PNPD_SITE = $(BASE_DIR)/pnpd-src
PNPD_SITE_METHOD = local
PNPD_VERSION := $(shell cat $(BASE_DIR)/pnpd-src/VERSION 2>/dev/null || echo dev)
PNPD_LICENSE = Proprietary
PNPD_GOMOD = github.com/pnpbox/pnpbox
PNPD_BUILD_TARGETS = cmd/pnpd
# The golang infrastructure enables cgo whenever the toolchain can link
# it; PNPD_GO_ENV comes after HOST_GO_TARGET_ENV, so this wins: a static
# binary, the same as `make build-arm64` and the one qemu-test boots.
PNPD_GO_ENV = CGO_ENABLED=0
PNPD_LDFLAGS = -s -w -X main.version=$(PNPD_VERSION)

define PNPD_CHECK_STAGED
	@test -f $(PNPD_SITE)/vendor/modules.txt || { \
		echo "pnpd: $(PNPD_SITE) has no vendor/: build with 'make image' from the pnpbox checkout"; \
		exit 1; }
endef
PNPD_PRE_BUILD_HOOKS += PNPD_CHECK_STAGED

# What the box needs from the kernel: multicast and raw sockets (SIP PnP,
# the DHCP client), 802.1Q for -vlan, the GPIO character device for the
# LED and button, and the SoC watchdog pnpd feeds.
define PNPD_LINUX_CONFIG_FIXUPS
	$(call KCONFIG_ENABLE_OPT,CONFIG_IP_MULTICAST)
	$(call KCONFIG_ENABLE_OPT,CONFIG_PACKET)
	$(call KCONFIG_ENABLE_OPT,CONFIG_VLAN_8021Q)
	$(call KCONFIG_ENABLE_OPT,CONFIG_GPIOLIB)
	$(call KCONFIG_ENABLE_OPT,CONFIG_GPIO_CDEV)
	$(call KCONFIG_ENABLE_OPT,CONFIG_WATCHDOG)
	$(call KCONFIG_ENABLE_OPT,CONFIG_BCM2835_WDT)
endef

$(eval $(golang-package))
