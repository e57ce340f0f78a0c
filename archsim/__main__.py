from archsim.cli import console

console()
