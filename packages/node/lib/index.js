// Spikard for Node: the public API.
export { Spikard } from './app.js';
export { Request } from './request.js';
export { Response, HttpError, StreamResponse } from './response.js';
export { TestClient, TestResponse } from './testclient.js';
export { toJsonSchema } from './schema.js';
export { Provide, Value } from './di.js';
export { BackgroundQueueFullError } from './background.js';
export { WebSocketConnection, WebSocketHub, TestWebSocket, TestFrame, WebSocketHandshakeError } from './ws.js';
import { native, addonPath } from './native.js';
export const version = native.version();
export { addonPath };
