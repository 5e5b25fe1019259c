// HTTP kit, auth, config and DI (issue 3). Filled in as they are built.
export {};
