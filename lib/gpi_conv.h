/* gpi_conv.h - placeholder while it is written */
#ifndef GPI_CONV_H
#define GPI_CONV_H
#endif
