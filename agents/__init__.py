"""Trading agents for streamdex: live against the devnet or backtested in process."""
