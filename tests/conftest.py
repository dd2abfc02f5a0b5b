pytest_plugins = ["solana_payments.localnet.pytest_plugin"]
