/**
 * The variable that gives the built-in container a Unix socket to serve on besides its TCP port, shared by
 * the container (which listens there) and the emulator (which sets it and sends its requests there).
 */
export const CONTAINER_SOCKET_ENV = 'SMHOST_CONTAINER_SOCKET';
