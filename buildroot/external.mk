include $(sort $(wildcard $(BR2_EXTERNAL_PNPBOX_PATH)/package/*/*.mk))
