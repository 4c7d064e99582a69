// Sets (or unsets, with nullptr) an environment variable for one scope and restores what was
// there: for tests of behaviour chosen by an environment variable (IODIAG_BPF_VARIANT, ...).
#pragma once

#include <stdlib.h>

#include <optional>
#include <string>

namespace iodiag::testing {

class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = ::getenv(name)) old_ = old;
        set(value);
    }
    ~ScopedEnv() { set(old_ ? old_->c_str() : nullptr); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    void set(const char* value) {
        if (value) ::setenv(name_.c_str(), value, 1);
        else ::unsetenv(name_.c_str());
    }
    std::string name_;
    std::optional<std::string> old_;
};

}  // namespace iodiag::testing
