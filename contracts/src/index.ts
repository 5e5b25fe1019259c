// Every message that crosses a service boundary will be defined here,
// versioned, with its schema, topic and key (issue 4). Nothing yet.
export {};
