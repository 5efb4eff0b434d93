// Intentionally empty: the module only exports the declaration in include/CFuzzerDriver.h.
#include "CFuzzerDriver.h"
