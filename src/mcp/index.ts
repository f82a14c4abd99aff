// mcp: `agentdb mcp`, an MCP server whose tools reach PostgreSQL only through the agentdb gateway.
export { createMcpServer, serveStdio } from './server.js';
export type { McpServerOptions } from './server.js';
export { McpError, McpErrorCode } from './errors.js';
