#ifndef MIMIR_VERSION_H
#define MIMIR_VERSION_H
#define MIMIR_VERSION "0.1.0"
#endif
