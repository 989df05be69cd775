"""Carbon intensity of electricity and the accounting that turns energy into CO2-equivalent."""
