#ifndef CPCSCLITE_SHIM_H
#define CPCSCLITE_SHIM_H
#include <winscard.h>   /* -I/usr/include/PCSC comes from libpcsclite.pc */
#include <reader.h>

/* Swift imports neither address-of macros nor function-like macros: wrap them. */
static inline const SCARD_IO_REQUEST *_Nonnull CPCSCLite_PCI_T0(void) { return SCARD_PCI_T0; }
static inline const SCARD_IO_REQUEST *_Nonnull CPCSCLite_PCI_T1(void) { return SCARD_PCI_T1; }
static inline DWORD CPCSCLite_CTL_CODE(DWORD code) { return SCARD_CTL_CODE(code); }
#endif
